#include "turbotwin/store/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

namespace turbotwin::store {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t record_magic = 0x314a5454;  // "TTJ1" read as little-endian bytes
constexpr std::size_t header_bytes = 24;            // magic, topic len, payload len, seq, crc
constexpr std::size_t crc_offset = 20;
constexpr std::string_view segment_prefix = "journal-";
constexpr std::string_view segment_suffix = ".log";
constexpr std::size_t seq_digits = 20;

// Slicing-by-4 tables for the reflected IEEE polynomial: about 1 byte per cycle, so a 500-byte
// message costs well under a microsecond on Paho's thread.
constexpr std::array<std::array<std::uint32_t, 256>, 4> make_crc_tables() {
    std::array<std::array<std::uint32_t, 256>, 4> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
        for (std::size_t s = 1; s < 4; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    return t;
}
constexpr auto crc_tables = make_crc_tables();

template <class T>
void put_le(char* out, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
template <class T>
T get_le(const char* in) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(in[i])) << (8 * i);
    return v;
}

std::string segment_name(std::uint64_t first_seq) {
    char digits[seq_digits + 1];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(first_seq));
    return std::string(segment_prefix) + digits + std::string(segment_suffix);
}

// "journal-00000000000000000042.log" -> 42; anything else is not ours.
std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
    if (name.size() != segment_prefix.size() + seq_digits + segment_suffix.size()) return std::nullopt;
    if (name.compare(0, segment_prefix.size(), segment_prefix) != 0) return std::nullopt;
    if (name.compare(name.size() - segment_suffix.size(), segment_suffix.size(), segment_suffix) != 0) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = segment_prefix.size(); i < segment_prefix.size() + seq_digits; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        v = v * 10 + std::uint64_t(name[i] - '0');
    }
    return v;
}

// Writes all of `data`, retrying short writes and EINTR.
bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

void sync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Reads one segment's records in order. Stops at the end of the file or at the first record that
// is cut short, has a bad magic, length, crc, or a sequence number not above the previous one.
class segment_reader {
public:
    segment_reader(const std::string& path, std::uint32_t max_record_bytes) : max_record_(max_record_bytes) {
        file_ = std::fopen(path.c_str(), "rb");
        if (file_) std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    }
    ~segment_reader() {
        if (file_) std::fclose(file_);
    }
    segment_reader(const segment_reader&) = delete;
    segment_reader& operator=(const segment_reader&) = delete;

    bool is_open() const { return file_ != nullptr; }

    /// Next valid record into `e`; false at the end of the valid prefix.
    bool next(journal_entry& e) {
        char header[header_bytes];
        if (std::fread(header, 1, header_bytes, file_) != header_bytes) return false;
        const auto magic = get_le<std::uint32_t>(header);
        const auto topic_len = get_le<std::uint32_t>(header + 4);
        const auto payload_len = get_le<std::uint32_t>(header + 8);
        const auto seq = get_le<std::uint64_t>(header + 12);
        const auto crc = get_le<std::uint32_t>(header + crc_offset);
        if (magic != record_magic || std::uint64_t(topic_len) + payload_len > max_record_ || seq <= last_seq_) return false;
        e.topic.resize(topic_len);
        e.payload.resize(payload_len);
        if (std::fread(e.topic.data(), 1, topic_len, file_) != topic_len) return false;
        if (std::fread(e.payload.data(), 1, payload_len, file_) != payload_len) return false;
        std::uint32_t c = crc32(0, header + 4, crc_offset - 4);
        c = crc32(c, e.topic.data(), e.topic.size());
        c = crc32(c, e.payload.data(), e.payload.size());
        if (c != crc) return false;
        e.seq = seq;
        last_seq_ = seq;
        valid_bytes_ += header_bytes + topic_len + payload_len;
        return true;
    }

    std::uint64_t valid_bytes() const { return valid_bytes_; }
    std::uint64_t last_seq() const { return last_seq_; }

private:
    std::FILE* file_ = nullptr;
    std::uint64_t max_record_;
    std::uint64_t valid_bytes_ = 0;
    std::uint64_t last_seq_ = 0;
};

}  // namespace

std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    while (size >= 4) {
        crc ^= std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
        crc = crc_tables[3][crc & 0xff] ^ crc_tables[2][(crc >> 8) & 0xff] ^ crc_tables[1][(crc >> 16) & 0xff] ^
              crc_tables[0][crc >> 24];
        p += 4;
        size -= 4;
    }
    while (size-- > 0) crc = crc_tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

journal::journal(std::string dir, journal_options options) : dir_(std::move(dir)), options_(options) {}

journal::~journal() {
    if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<journal>> journal::open(const std::string& dir, journal_options options, std::uint64_t next_seq_at_least) {
    if (options.segment_bytes < 1024) options.segment_bytes = 1024;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return {errc::io_error, "cannot create journal folder " + dir + ": " + ec.message()};
    std::unique_ptr<journal> j(new journal(dir, options));

    std::vector<segment> found;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const auto name = entry.path().filename().string();
        if (auto first = parse_segment_name(name); first && entry.is_regular_file())
            found.push_back({*first, entry.path().string(), 0});
    }
    if (ec) return {errc::io_error, "cannot list journal folder " + dir + ": " + ec.message()};
    std::sort(found.begin(), found.end(), [](const segment& a, const segment& b) { return a.first_seq < b.first_seq; });

    std::uint64_t last_seq = 0;
    std::uint64_t floor_seq = next_seq_at_least;
    for (auto& s : found) {
        segment_reader reader(s.path, options.max_record_bytes);
        if (!reader.is_open()) return {errc::io_error, "cannot read journal segment " + s.path + ": " + std::strerror(errno)};
        journal_entry scratch;
        std::uint64_t records = 0;
        while (reader.next(scratch)) ++records;
        const auto size = fs::file_size(s.path, ec);
        if (ec) return {errc::io_error, "cannot stat " + s.path + ": " + ec.message()};
        if (reader.valid_bytes() < size) {
            // A crash in the middle of a write leaves a record cut short; power loss without
            // fsync may leave garbage. Either way nothing after it can be trusted.
            spdlog::warn("journal: {}: dropping {} bytes after the last valid record (torn write)", s.path, size - reader.valid_bytes());
            fs::resize_file(s.path, reader.valid_bytes(), ec);
            if (ec) return {errc::io_error, "cannot truncate " + s.path + ": " + ec.message()};
            j->stats_.truncated_bytes += size - reader.valid_bytes();
        }
        floor_seq = std::max(floor_seq, s.first_seq);
        if (records == 0) {
            fs::remove(s.path, ec);  // nothing to keep; its number is kept in floor_seq
            continue;
        }
        last_seq = std::max(last_seq, reader.last_seq());
        s.bytes = reader.valid_bytes();
        j->segments_.push_back(s);
    }
    j->next_seq_ = std::max(last_seq + 1, floor_seq);
    if (auto r = j->start_segment(j->next_seq_); !r) return {r.error(), r.detail()};
    return j;
}

Result<bool> journal::start_segment(std::uint64_t first_seq) {
    segment s{first_seq, (fs::path(dir_) / segment_name(first_seq)).string(), 0};
    const int fd = ::open(s.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return {errc::io_error, "cannot create journal segment " + s.path + ": " + std::strerror(errno)};
    // Normally new; after a failed rollover it may already exist and hold valid records.
    const off_t existing = ::lseek(fd, 0, SEEK_END);
    s.bytes = existing > 0 ? std::uint64_t(existing) : 0;
    if (options_.fsync) sync_dir(dir_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    if (segments_.empty() || segments_.back().path != s.path) segments_.push_back(std::move(s));
    return true;
}

append_result journal::append(std::string_view topic, std::string_view payload) {
    std::lock_guard lock(mu_);
    append_result r;
    r.seq = next_seq_++;
    const std::size_t size = header_bytes + topic.size() + payload.size();
    scratch_.resize(size);
    char* out = scratch_.data();
    put_le(out, record_magic);
    put_le(out + 4, static_cast<std::uint32_t>(topic.size()));
    put_le(out + 8, static_cast<std::uint32_t>(payload.size()));
    put_le(out + 12, r.seq);
    std::memcpy(out + header_bytes, topic.data(), topic.size());
    std::memcpy(out + header_bytes + topic.size(), payload.data(), payload.size());
    std::uint32_t crc = crc32(0, out + 4, crc_offset - 4);
    crc = crc32(crc, out + header_bytes, topic.size() + payload.size());
    put_le(out + crc_offset, crc);

    auto& seg = segments_.back();
    bool ok = fd_ >= 0 && write_all(fd_, out, size);
    if (ok && options_.fsync) ok = ::fdatasync(fd_) == 0;
    if (!ok) {
        ++stats_.write_failures;
        // A partial record would hide every record after it from replay: cut it off.
        if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0) (void)start_segment(next_seq_);
        if (stats_.write_failures <= 10 || stats_.write_failures % 10000 == 0)
            spdlog::error("journal: cannot append to {}: {} ({} failures so far)", seg.path, std::strerror(errno), stats_.write_failures);
        return r;
    }
    r.durable = true;
    ++stats_.appended;
    seg.bytes += size;
    if (seg.bytes >= options_.segment_bytes) {
        if (auto s = start_segment(next_seq_); !s) spdlog::error("journal: {}", s.detail());
    }
    return r;
}

Result<std::uint64_t> journal::replay(std::uint64_t after, const std::function<void(journal_entry&&)>& fn) const {
    std::vector<segment> copy;
    {
        std::lock_guard lock(mu_);
        copy = segments_;
    }
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < copy.size(); ++i) {
        // Skip whole segments the checkpoint covers without reading them.
        if (i + 1 < copy.size() && copy[i + 1].first_seq - 1 <= after) continue;
        segment_reader reader(copy[i].path, options_.max_record_bytes);
        if (!reader.is_open()) return {errc::io_error, "cannot read journal segment " + copy[i].path + ": " + std::strerror(errno)};
        journal_entry e;
        while (reader.next(e)) {
            if (e.seq <= after) continue;
            ++n;
            fn(std::move(e));
            e = journal_entry{};
        }
    }
    return n;
}

void journal::release(std::uint64_t upto) {
    std::lock_guard lock(mu_);
    while (segments_.size() > 1 && segments_[1].first_seq - 1 <= upto) {
        std::error_code ec;
        fs::remove(segments_.front().path, ec);
        if (ec) {
            spdlog::warn("journal: cannot delete {}: {}", segments_.front().path, ec.message());
            return;
        }
        segments_.erase(segments_.begin());
    }
}

std::uint64_t journal::last_seq() const {
    std::lock_guard lock(mu_);
    return next_seq_ - 1;
}

journal_stats journal::stats() const {
    std::lock_guard lock(mu_);
    journal_stats s = stats_;
    s.segments = segments_.size();
    s.bytes = 0;
    for (const auto& seg : segments_) s.bytes += seg.bytes;
    return s;
}

}  // namespace turbotwin::store
