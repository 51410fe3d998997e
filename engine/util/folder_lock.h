// An exclusive lock on an output folder, so two runs never write one folder at once.
//
// The lock is flock(2) on <folder>/.lock, held for the life of the FolderLock object; the file also
// names its holder (pid, host, start time, command) for the message a second run gets. The kernel
// releases a flock when its process dies however it dies, so a lock file left by a dead run is
// recognised as stale (the file is there, the lock is not) and taken over. flock is per machine:
// two hosts sharing a folder over NFS are not kept apart.
#ifndef PIPEBENCH_ENGINE_UTIL_FOLDER_LOCK_H_
#define PIPEBENCH_ENGINE_UTIL_FOLDER_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace pipebench {

class FolderLock {
 public:
  // Creates `folder` if needed and locks it. FailedPrecondition, naming the holder, when another
  // live process holds it; `*stale_holder` (if given) receives a description of a dead run whose
  // lock file was taken over, or "" when there was none.
  static absl::StatusOr<FolderLock> Acquire(const std::string& folder, const std::string& command,
                                            std::string* stale_holder = nullptr);

  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();  // removes the lock file and releases the lock

 private:
  void Release();
  FolderLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// This process's command line, arguments separated by spaces (/proc/self/cmdline).
std::string CurrentCommandLine();

}  // namespace pipebench

#endif  // PIPEBENCH_ENGINE_UTIL_FOLDER_LOCK_H_
