#include "turbotwin/app/runtime.hpp"

#include <charconv>
#include <fstream>
#include <memory>
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
// "sha256:<hex>" of a file's bytes; "" when it cannot be read (the load itself reports that).
std::string file_hash(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return "sha256:" + to_hex(sha256(bytes.str()));
}
}  // namespace

std::string code_version() { return std::string(TURBOTWIN_VERSION) + "+" + TURBOTWIN_GIT_COMMIT; }

Result<runtime> load_runtime(const std::string& config_path, const std::string& model_override) {
    auto cfg = codec::load_config(config_path);
    if (!cfg) return {cfg.error(), cfg.detail()};
    runtime rt;
    rt.config = std::move(*cfg);
    if (!model_override.empty()) rt.config.model_path = model_override;
    auto cat = codec::load_catalogue(rt.config.catalogue_path);
    if (!cat) return {cat.error(), cat.detail()};
    auto model = prognostics::load_model(rt.config.model_path);
    if (!model) return {model.error(), model.detail()};
    rt.twin.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
    rt.twin.catalogue = std::make_shared<const sensor_catalogue>(std::move(*cat));
    rt.twin.alert_thresholds = rt.config.alerts;
    rt.twin.origin = {rt.twin.model->name, file_hash(rt.config.model_path), file_hash(config_path), code_version()};
    return rt;
}

std::string round_trip(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("nan");
}

}  // namespace turbotwin::app
