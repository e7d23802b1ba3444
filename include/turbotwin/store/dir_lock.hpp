#pragma once
/// An exclusive lock on a data folder, so that two `serve` processes never append to the same
/// journal or database. flock() on DIR/LOCK: the kernel drops it when the process dies, even by
/// `kill -9`, so a crash never leaves a stale lock behind.
#include <memory>
#include <string>

#include "turbotwin/core/result.hpp"

namespace turbotwin::store {

class dir_lock {
public:
    /// Takes the lock without waiting; fails (invalid_argument) when another process holds it.
    static Result<std::unique_ptr<dir_lock>> acquire(const std::string& dir);
    ~dir_lock();
    dir_lock(const dir_lock&) = delete;
    dir_lock& operator=(const dir_lock&) = delete;

private:
    explicit dir_lock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace turbotwin::store
