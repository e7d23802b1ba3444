#pragma once
// A file with the given contents in the temp directory, removed when the object goes: for tests
// of code that reads files by path.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace turbotwin::testing_support {

class temp_file {
public:
    /// Named `<prefix>-<pid>-<n>.txt`, so a test can tell its files apart.
    temp_file(const std::string& contents, const std::string& prefix) {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".txt");
        std::ofstream(path_, std::ios::binary) << contents;
    }
    ~temp_file() {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

}  // namespace turbotwin::testing_support
