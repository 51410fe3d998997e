// The simulator's event queue: events leave in time order, and events of equal time in the order
// they were pushed. Times must never precede the last popped time (a simulation only schedules
// into its future, though possibly before events already queued), which lets it be a radix heap
// instead of a comparison heap.
//
// A binary or 4-ary heap pays a sift per pop: log n comparisons of time, then of push order, each
// a branch the processor cannot predict; at 1024 ranks (a few thousand pending events) that was
// 40% of a simulation. A radix heap files each event under the highest bit in which its time
// differs from the last popped time (non-negative doubles order like their bit patterns), so a push
// is an xor and a count of leading zeros. A pop reads bucket 0, the events at the last popped time,
// in push order; when it runs dry, the lowest non-empty bucket's minimum becomes that time and its
// events are refiled, in order, into lower buckets. An event moves down at most 64 times and
// usually a few. Equal times always share a bucket, and refiling keeps their order, so events of
// one time leave in push order.
#ifndef PIPEBENCH_ENGINE_SIM_EVENT_QUEUE_H_
#define PIPEBENCH_ENGINE_SIM_EVENT_QUEUE_H_

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/base/attributes.h"

namespace pipebench {

template <typename Event>
class EventQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // The earliest pending time. Requires !empty(). A look changes nothing: events may still be
  // pushed between the last popped time and this one.
  double next_time() const {
    assert(!empty());
    if (head_ < buckets_[0].size()) return TimeOf(last_);
    if (!lowest_min_known_) {  // every key of a lower bucket is below every key of a higher one
      lowest_min_ = MinKey(buckets_[LowestBucket()]);
      lowest_min_known_ = true;
    }
    return TimeOf(lowest_min_);
  }

  // Requires time >= 0, and time >= the last popped time. Inlined, so the caller's event is stored
  // straight into its bucket.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Push(double time, const Event& event) {
    assert(time >= 0);
    const std::uint64_t key = KeyOf(time);
    assert(key >= last_);
    ++size_;
    const int bucket = BucketOf(key);
    buckets_[bucket].emplace_back(key, event);
    nonempty_ |= std::uint64_t{1} << bucket >> 1;  // bit b-1 for bucket b >= 1; nothing for 0
    if (bucket > 0 && lowest_min_known_ && key < lowest_min_) lowest_min_ = key;
  }

  // Removes and returns the first-pushed event of the earliest time. Requires !empty().
  Event Pop() {
    assert(!empty());
    if (head_ == buckets_[0].size()) Advance();
    --size_;
    const Event event = buckets_[0][head_++].event;
    // Events keep coming at one time (a run of zero-cost actions is all at time 0): drop the
    // popped ones rather than hold a whole run's events.
    if (head_ == buckets_[0].size()) {
      buckets_[0].clear();
      head_ = 0;
    }
    return event;
  }

 private:
  struct Item {
    // Built in place by emplace_back: a temporary copied in would be stored field by field and
    // read back whole, which the processor cannot forward (a stall per push).
    Item(std::uint64_t key, const Event& event) : key(key), event(event) {}
    std::uint64_t key;
    Event event;
  };

  // +0.0 and positive doubles order like their bit patterns; -0.0 is +0.0.
  static std::uint64_t KeyOf(double time) {
    if (time == 0) return 0;
    std::uint64_t key;
    std::memcpy(&key, &time, sizeof key);
    return key;
  }
  static double TimeOf(std::uint64_t key) {
    double time;
    std::memcpy(&time, &key, sizeof time);
    return time;
  }
  // 0 for the last popped time; else 1 + the highest bit in which `key` differs from it: at most
  // 63, since keys of non-negative times never differ in the sign bit.
  int BucketOf(std::uint64_t key) const {
    return key == last_ ? 0 : 64 - __builtin_clzll(key ^ last_);
  }

  // The lowest non-empty bucket above 0. Requires one.
  int LowestBucket() const { return __builtin_ctzll(nonempty_) + 1; }

  static std::uint64_t MinKey(const std::vector<Item>& items) {
    std::uint64_t min = items.front().key;
    for (const Item& item : items) min = item.key < min ? item.key : min;
    return min;
  }

  // Bucket 0 ran dry, and a pop needs the next time: the lowest non-empty bucket's minimum becomes
  // the last popped time (only a pop moves it: pushes may precede the next pending time until
  // then), and that bucket's events are refiled below it.
  ABSL_ATTRIBUTE_NOINLINE void Advance() {
    const int lowest = LowestBucket();
    std::vector<Item>& source = buckets_[lowest];
    last_ = lowest_min_known_ ? lowest_min_ : MinKey(source);
    lowest_min_known_ = false;
    nonempty_ &= ~(std::uint64_t{1} << (lowest - 1));
    for (const Item& item : source) {  // in order, so equal times keep their push order
      const int bucket = BucketOf(item.key);  // below `lowest`
      buckets_[bucket].push_back(item);
      nonempty_ |= std::uint64_t{1} << bucket >> 1;
    }
    source.clear();
  }

  std::array<std::vector<Item>, 64> buckets_;
  std::size_t head_ = 0;        // bucket 0's events before it have been popped
  std::uint64_t last_ = 0;      // the key of the last popped time (every pending key is >= it)
  std::uint64_t nonempty_ = 0;  // bit b-1 set: bucket b >= 1 holds events
  std::size_t size_ = 0;
  // The smallest key in buckets >= 1, once a look has needed it; kept up by pushes.
  mutable std::uint64_t lowest_min_ = 0;
  mutable bool lowest_min_known_ = false;
};

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_SIM_EVENT_QUEUE_H_
