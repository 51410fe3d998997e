#include "engine/util/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pipebench {
namespace {

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  if (lseek(fd, 0, SEEK_SET) != 0) return text;
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  return text;
}

std::string HolderDescription(const std::string& contents) {
  std::string text(absl::StripAsciiWhitespace(contents));
  return text.empty() ? "a run that left no details" : text;
}

}  // namespace

std::string CurrentCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::stringstream raw;
  raw << in.rdbuf();
  std::string command = raw.str();
  while (!command.empty() && command.back() == '\0') command.pop_back();
  for (char& c : command) {
    if (c == '\0') c = ' ';
  }
  return command;
}

absl::StatusOr<FolderLock> FolderLock::Acquire(const std::string& folder,
                                               const std::string& command,
                                               std::string* stale_holder) {
  if (stale_holder != nullptr) stale_holder->clear();
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the output folder ", folder, ": ", error.message()));
  }
  const std::string path = folder + "/.lock";
  int fd = -1;
  // A holder unlinks the file as it releases the lock: a lock won on a file no longer at `path`
  // is a lock on nothing, so open again.
  for (int attempt = 0; fd < 0; ++attempt) {
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot open the lock file ", path, ": ", std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int cause = errno;
      const std::string holder = HolderDescription(ReadAll(fd));
      close(fd);
      if (cause == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "another run is writing ", folder, ": ", holder, " (its lock: ", path,
            "); wait for it, stop it, or pass another --out_dir"));
      }
      return absl::PermissionDeniedError(
          absl::StrCat("cannot lock ", path, ": ", std::strerror(cause)));
    }
    struct stat held {}, named {};
    if (fstat(fd, &held) != 0 || stat(path.c_str(), &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
      close(fd);
      fd = -1;
      if (attempt == 100) {
        return absl::UnavailableError(absl::StrCat("cannot lock ", path,
                                                   ": it is replaced as fast as it is locked"));
      }
    }
  }
  // Locked: whatever the file holds was left by a run that died without removing it.
  const std::string previous(absl::StripAsciiWhitespace(ReadAll(fd)));
  if (!previous.empty() && stale_holder != nullptr) *stale_holder = previous;
  utsname machine{};
  uname(&machine);
  const std::string holder =
      absl::StrCat("pid ", getpid(), " on ", machine.nodename, ", started ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()),
                   ": ", command, "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, holder.data(), holder.size(), 0) !=
                                   static_cast<ssize_t>(holder.size())) {
    const int cause = errno;
    close(fd);
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot write the lock file ", path, ": ", std::strerror(cause)));
  }
  return FolderLock(fd, path);
}

FolderLock::FolderLock(FolderLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

FolderLock::~FolderLock() { Release(); }

void FolderLock::Release() {
  if (fd_ < 0) return;
  // Unlink while still holding the lock: a run waiting to start then finds no stale file.
  unlink(path_.c_str());
  close(fd_);
  fd_ = -1;
}

}  // namespace pipebench
