#pragma once
// A real mosquitto on a free loopback port, for tests that need a broker. Header-only so that
// test_mqtt and test_replay can share it (include it as "mosquitto_broker.hpp").
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace turbotwin::test {

/// Where the mosquitto binary is: $PATH, then the sbin folders Debian installs it in.
inline std::optional<std::string> find_mosquitto() {
    namespace fs = std::filesystem;
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/sbin:/usr/local/sbin:/sbin";
    std::stringstream ss(dirs);
    for (std::string dir; std::getline(ss, dir, ':');) {
        if (dir.empty()) continue;
        fs::path p = fs::path(dir) / "mosquitto";
        if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    return std::nullopt;
}

/// A loopback TCP port nobody listens on right now (bind port 0, read it back, close).
inline int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

inline bool accepts_tcp(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

/// One mosquitto process; stop() and the destructor kill it.
class mosquitto_broker {
public:
    mosquitto_broker() = default;
    mosquitto_broker(const mosquitto_broker&) = delete;
    mosquitto_broker& operator=(const mosquitto_broker&) = delete;
    ~mosquitto_broker() {
        stop();
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    /// Starts on `port` (0: a free one). Empty string on success, else what went wrong.
    std::string start(const std::string& binary, int port = 0) {
        binary_ = binary;
        port_ = port > 0 ? port : free_loopback_port();
        if (port_ <= 0) return "no free loopback port";
        if (dir_.empty()) {
            static std::atomic<int> counter{0};
            dir_ = std::filesystem::temp_directory_path() /
                   ("turbotwin-mosquitto-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
            std::filesystem::create_directories(dir_);
        }
        const auto cfg = (dir_ / "mosquitto.conf").string();
        const auto log = (dir_ / "mosquitto.log").string();
        {
            std::ofstream out(cfg);
            out << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n";
            // Started as root, mosquitto switches to user "mosquitto", and a change of user
            // clears PR_SET_PDEATHSIG (below). Loopback only, no persistence: keep root.
            if (::geteuid() == 0) out << "user root\n";
        }
        std::string arg0 = binary_, arg1 = "-c", arg2 = cfg;
        char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
        const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) return "cannot create " + log;
        // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a test that crashes must
        // not leave its broker running. Only async-signal-safe calls between fork and exec.
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::dup2(log_fd, STDOUT_FILENO);
            ::dup2(log_fd, STDERR_FILENO);
            ::execv(argv[0], argv);
            ::_exit(127);
        }
        ::close(log_fd);
        if (pid_ < 0) {
            pid_ = -1;
            return std::string("cannot fork: ") + std::strerror(errno);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            if (accepts_tcp(port_)) return {};
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return "mosquitto exited at start: " + read_log();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop();
        return "mosquitto does not accept connections on port " + std::to_string(port_) + ": " + read_log();
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 2 s) and reaps it.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
    }

    /// Starts again on the same port.
    std::string restart() {
        stop();
        return start(binary_, port_);
    }

    int port() const { return port_; }
    std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

    std::string read_log() const {
        std::ifstream in(dir_ / "mosquitto.log");
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    std::string binary_;
    std::filesystem::path dir_;
    int port_ = -1;
    pid_t pid_ = -1;
};

/// Fixture: a fresh broker per test; skips the test when mosquitto is not installed.
class broker_test : public ::testing::Test {
protected:
    void SetUp() override {
        auto bin = find_mosquitto();
        if (!bin) GTEST_SKIP() << "mosquitto is not installed (Debian: apt-get install mosquitto); broker tests skipped";
        const auto error = broker_.start(*bin);
        ASSERT_TRUE(error.empty()) << error;
    }
    void TearDown() override { broker_.stop(); }

    mosquitto_broker broker_;
};

/// Polls `pred` every 10 ms until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace turbotwin::test
