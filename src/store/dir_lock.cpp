#include "turbotwin/store/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace turbotwin::store {

Result<std::unique_ptr<dir_lock>> dir_lock::acquire(const std::string& dir) {
    const auto path = (std::filesystem::path(dir) / "LOCK").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return {errc::io_error, "cannot open " + path + ": " + std::strerror(errno)};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK) return {errc::invalid_argument, dir + " is in use by another turbotwin process"};
        return {errc::io_error, "cannot lock " + path + ": " + std::strerror(e)};
    }
    return std::unique_ptr<dir_lock>(new dir_lock(fd));
}

dir_lock::~dir_lock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace turbotwin::store
