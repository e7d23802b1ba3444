#include "turbotwin/app/runtime.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "turbotwin/app/access.hpp"

#ifndef TURBOTWIN_VERSION
#define TURBOTWIN_VERSION "dev"
#endif
#ifndef TURBOTWIN_GIT_COMMIT
#define TURBOTWIN_GIT_COMMIT "unknown"
#endif

namespace turbotwin::app {

namespace {
std::optional<std::string> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// The config's provenance covers the sensor catalogue it names: the catalogue's plausible ranges
// decide which readings a twin applies.
std::string config_hash(const std::string& config_path, const std::string& catalogue_path) {
    auto config = file_bytes(config_path);
    auto catalogue = file_bytes(catalogue_path);
    if (!config || !catalogue) return {};
    return "sha256:" + to_hex(sha256(*config + "\n" + *catalogue));
}
}  // namespace

std::string file_hash(const std::string& path) {
    auto bytes = file_bytes(path);
    return bytes ? "sha256:" + to_hex(sha256(*bytes)) : std::string();
}

std::string archived_path(const std::string& data_dir, const std::string& kind, const std::string& hash) {
    constexpr std::string_view prefix = "sha256:";
    const std::string hex = hash.rfind(prefix, 0) == 0 ? hash.substr(prefix.size()) : hash;
    return (std::filesystem::path(data_dir) / kind / (hex + ".json")).string();
}

Result<bool> archive_inputs(const runtime& rt, const std::string& data_dir) {
    namespace fs = std::filesystem;
    auto keep = [&](const std::string& kind, const std::string& source, const std::string& hash) -> Result<bool> {
        if (hash.empty() || source.empty()) return true;
        const fs::path target = archived_path(data_dir, kind, hash);
        std::error_code ec;
        if (fs::exists(target, ec)) return true;
        fs::create_directories(target.parent_path(), ec);
        // Copy then rename: a crash never leaves a half-written file under its hash.
        const fs::path partial = target.string() + ".partial";
        if (!ec) fs::copy_file(source, partial, fs::copy_options::overwrite_existing, ec);
        if (!ec) fs::rename(partial, target, ec);
        if (ec) return {errc::io_error, "cannot keep a copy of " + source + " in " + target.string() + ": " + ec.message()};
        return true;
    };
    if (auto r = keep("models", rt.config.model_path, rt.twin.origin.model_hash); !r) return r;
    if (auto r = keep("catalogues", rt.config.catalogue_path, rt.twin.origin.config_hash); !r) return r;
    return keep("configs", rt.config_path, rt.twin.origin.config_hash);
}

std::string code_version() { return std::string(TURBOTWIN_VERSION) + "+" + TURBOTWIN_GIT_COMMIT; }

Result<runtime> load_runtime(const std::string& config_path, const std::string& model_override, const std::string& catalogue_override) {
    auto cfg = codec::load_config(config_path);
    if (!cfg) return {cfg.error(), cfg.detail()};
    runtime rt;
    rt.config = std::move(*cfg);
    if (!model_override.empty()) rt.config.model_path = model_override;
    if (!catalogue_override.empty()) rt.config.catalogue_path = catalogue_override;
    auto cat = codec::load_catalogue(rt.config.catalogue_path);
    if (!cat) return {cat.error(), cat.detail()};
    auto model = prognostics::load_model(rt.config.model_path);
    if (!model) return {model.error(), model.detail()};
    rt.twin.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
    rt.twin.catalogue = std::make_shared<const sensor_catalogue>(std::move(*cat));
    rt.twin.alert_thresholds = rt.config.alerts;
    rt.config_path = config_path;
    rt.twin.origin = {rt.twin.model->name, file_hash(rt.config.model_path), config_hash(config_path, rt.config.catalogue_path), code_version()};
    return rt;
}

std::string round_trip(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("nan");
}

}  // namespace turbotwin::app
