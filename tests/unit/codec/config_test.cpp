#include "turbotwin/codec/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace turbotwin::codec {
namespace {

namespace fs = std::filesystem;

const std::string source_dir = TURBOTWIN_SOURCE_DIR;

struct temp_dir : testing_support::temp_dir {
    temp_dir() : testing_support::temp_dir("turbotwin-config-test") {}
};

// ---------------------------------------------------------------- load_config

TEST(load_config, EmptyObjectGivesDefaultsWithPathsResolvedAgainstTheFile) {
    temp_dir dir;
    const auto path = dir.write("etc/turbotwin.json", "{}");
    auto c = load_config(path);
    ASSERT_TRUE(c) << c.message();
    const serve_config defaults;
    EXPECT_EQ(c->broker_url, defaults.broker_url);
    EXPECT_EQ(c->workers, defaults.workers);
    EXPECT_EQ(c->max_payload_bytes, defaults.max_payload_bytes);
    EXPECT_EQ(c->alerts.warning_rul, defaults.alerts.warning_rul);
    // The default relative paths are relative to the config file's folder, normalised.
    EXPECT_EQ(fs::path(c->data_dir), (dir.path() / "data").lexically_normal());
    EXPECT_EQ(fs::path(c->model_path), (dir.path() / "models/fd001.json").lexically_normal());
    EXPECT_EQ(fs::path(c->catalogue_path), (dir.path() / "etc/sensors.json").lexically_normal());
}

TEST(load_config, RelativePathsResolveAgainstTheFilesFolderNotTheWorkingDirectory) {
    temp_dir dir;
    const auto path = dir.write("etc/a.json", R"({"data_dir": "state/db", "model": "../m/model.json",
                                                  "sensor_catalogue": "/opt/cat.json"})");
    auto c = load_config(path);
    ASSERT_TRUE(c) << c.message();
    EXPECT_TRUE(fs::path(c->data_dir).is_absolute());
    EXPECT_EQ(fs::path(c->data_dir), dir.path() / "etc/state/db");
    EXPECT_EQ(fs::path(c->model_path), dir.path() / "m/model.json");
    EXPECT_EQ(c->catalogue_path, "/opt/cat.json");  // absolute paths are kept
}

TEST(load_config, RelativeConfigPathIsMadeAbsolute) {
    temp_dir dir;
    dir.write("etc/b.json", R"({"model": "m.json"})");
    const fs::path old = fs::current_path();
    fs::current_path(dir.path());
    auto c = load_config("etc/b.json");
    fs::current_path(old);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(fs::path(c->model_path), dir.path() / "etc/m.json");
}

TEST(load_config, ReadsEveryKey) {
    temp_dir dir;
    const auto path = dir.write("etc/c.json", R"({
        // comments are allowed
        "broker": "tcp://broker:1884",
        "mqtt": {"client_id": "twin-7", "clean_session": true, "max_payload_bytes": 4096},
        "http": {"listen": "0.0.0.0:9000", "max_body_bytes": 2048},
        "alerts": {"warning_rul": 60, "critical_rul": 25.5, "clear_margin": 5},
        "workers": 8, "log_level": "debug", "unknown_key": [1, 2, 3]})");
    auto c = load_config(path);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->broker_url, "tcp://broker:1884");
    EXPECT_EQ(c->client_id, "twin-7");
    EXPECT_TRUE(c->clean_session);
    EXPECT_EQ(c->max_payload_bytes, 4096u);
    EXPECT_EQ(c->http_listen, "0.0.0.0:9000");
    EXPECT_EQ(c->http_max_body_bytes, 2048u);
    EXPECT_EQ(c->alerts.warning_rul, 60.0);
    EXPECT_EQ(c->alerts.critical_rul, 25.5);
    EXPECT_EQ(c->alerts.clear_margin, 5.0);
    EXPECT_EQ(c->workers, 8u);
    EXPECT_EQ(c->log_level, "debug");
}

TEST(load_config, DurabilityIsOnWithAPersistentSessionByDefault) {
    temp_dir dir;
    auto c = load_config(dir.write("etc/c.json", "{}"));
    ASSERT_TRUE(c) << c.message();
    EXPECT_FALSE(c->clean_session);  // the broker queues telemetry while serve is down
    EXPECT_EQ(c->client_id, "turbotwin-serve");
    EXPECT_TRUE(c->durability.enabled);
    EXPECT_FALSE(c->durability.fsync);
    EXPECT_TRUE(c->durability.rul_history);
}

TEST(load_config, ReadsTheDurabilityKeys) {
    temp_dir dir;
    auto c = load_config(dir.write("etc/c.json", R"({"durability": {"enabled": false, "fsync": true, "commit_interval_ms": 50,
        "commit_records": 100, "journal_segment_bytes": 1048576, "rul_history": false}})"));
    ASSERT_TRUE(c) << c.message();
    EXPECT_FALSE(c->durability.enabled);
    EXPECT_TRUE(c->durability.fsync);
    EXPECT_EQ(c->durability.commit_interval_ms, 50u);
    EXPECT_EQ(c->durability.commit_records, 100u);
    EXPECT_EQ(c->durability.journal_segment_bytes, 1048576u);
    EXPECT_FALSE(c->durability.rul_history);
    for (const char* text : {R"({"durability": {"commit_interval_ms": 0}})", R"({"durability": {"journal_segment_bytes": 10}})",
                             R"({"durability": {"commit_records": -1}})"}) {
        auto bad = load_config(dir.write("etc/d.json", text));
        ASSERT_FALSE(bad) << text;
        EXPECT_EQ(bad.error(), errc::invalid_argument) << text;
    }
}

TEST(load_config, ShippedConfigLoads) {
    auto c = load_config(source_dir + "/config/turbotwin.json");
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(fs::path(c->model_path), (fs::path(source_dir) / "models/fd001.json").lexically_normal());
    EXPECT_EQ(fs::path(c->catalogue_path), (fs::path(source_dir) / "config/sensors.json").lexically_normal());
    EXPECT_TRUE(fs::exists(c->model_path));
    EXPECT_TRUE(fs::exists(c->catalogue_path));
    EXPECT_LE(c->alerts.critical_rul, c->alerts.warning_rul);
}

struct bad_type_case {
    const char* json;
    const char* key;
};

class load_config_bad_type : public ::testing::TestWithParam<bad_type_case> {};

TEST_P(load_config_bad_type, NamesTheOffendingKey) {
    temp_dir dir;
    const auto path = dir.write("etc/bad.json", GetParam().json);
    auto c = load_config(path);
    ASSERT_FALSE(c) << GetParam().json;
    EXPECT_EQ(c.error(), errc::parse_error);
    EXPECT_NE(c.detail().find(std::string("'") + GetParam().key + "'"), std::string::npos) << c.detail();
}

INSTANTIATE_TEST_SUITE_P(codec, load_config_bad_type,
                         ::testing::Values(bad_type_case{R"({"broker": 1883})", "broker"},
                                           bad_type_case{R"({"mqtt": {"client_id": 7}})", "mqtt.client_id"},
                                           bad_type_case{R"({"mqtt": {"clean_session": "yes"}})", "mqtt.clean_session"},
                                           bad_type_case{R"({"mqtt": {"max_payload_bytes": "64k"}})", "mqtt.max_payload_bytes"},
                                           bad_type_case{R"({"http": {"listen": 8080}})", "http.listen"},
                                           bad_type_case{R"({"data_dir": false})", "data_dir"},
                                           bad_type_case{R"({"model": ["a"]})", "model"},
                                           bad_type_case{R"({"alerts": {"warning_rul": "fifty"}})", "alerts.warning_rul"},
                                           bad_type_case{R"({"alerts": {"critical_rul": null}})", "alerts.critical_rul"},
                                           bad_type_case{R"({"durability": {"enabled": "yes"}})", "durability.enabled"},
                                           bad_type_case{R"({"durability": {"fsync": 1}})", "durability.fsync"},
                                           bad_type_case{R"({"workers": "two"})", "workers"},
                                           bad_type_case{R"({"log_level": 3})", "log_level"}));

TEST(load_config, RejectsCriticalAboveWarning) {
    temp_dir dir;
    const auto path = dir.write("etc/d.json", R"({"alerts": {"warning_rul": 20, "critical_rul": 30}})");
    auto c = load_config(path);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), errc::invalid_argument);
    EXPECT_NE(c.detail().find("critical_rul"), std::string::npos) << c.detail();
    // Equal thresholds are allowed.
    EXPECT_TRUE(load_config(dir.write("etc/e.json", R"({"alerts": {"warning_rul": 20, "critical_rul": 20}})")));
}

TEST(load_config, RejectsNegativeMarginAndWorkersOutOfRange) {
    temp_dir dir;
    for (const char* text : {R"({"alerts": {"clear_margin": -1}})", R"({"workers": 0})", R"({"workers": 65})", R"({"workers": -1})"}) {
        auto c = load_config(dir.write("etc/f.json", text));
        ASSERT_FALSE(c) << text;
        EXPECT_EQ(c.error(), errc::invalid_argument) << text << ": " << c.message();
    }
    EXPECT_TRUE(load_config(dir.write("etc/g.json", R"({"workers": 64})")));
}

// KNOWN BUG (reported): src/codec/config.cpp reads the size_t/unsigned fields with
// nlohmann's value<size_t>/value<unsigned>, which converts with static_cast: -1 becomes
// SIZE_MAX (silently disabling the payload limit), 1.5e30 becomes 0 on x86 (undefined
// behaviour; every message would then be "too large"), and 2.7 workers becomes 2. These are
// wrong values for a count and should fail with the key's name like other type errors.
TEST(load_config, BUG_NegativeOrFractionalCountsAreRejected) {
    temp_dir dir;
    const bad_type_case cases[] = {{R"({"mqtt": {"max_payload_bytes": -1}})", "mqtt.max_payload_bytes"},
                                   {R"({"mqtt": {"max_payload_bytes": 1.5e30}})", "mqtt.max_payload_bytes"},
                                   {R"({"http": {"max_body_bytes": -5}})", "http.max_body_bytes"},
                                   {R"({"workers": 2.7})", "workers"}};
    for (const auto& c : cases) {
        auto r = load_config(dir.write("etc/neg.json", c.json));
        EXPECT_FALSE(r.ok()) << c.json << " loaded as max_payload_bytes=" << (r ? r->max_payload_bytes : 0)
                             << " max_body_bytes=" << (r ? r->http_max_body_bytes : 0) << " workers=" << (r ? r->workers : 0);
        if (!r) {
            EXPECT_NE(r.detail().find(c.key), std::string::npos) << r.detail();
        }
    }
}

TEST(load_config, MissingFileAndBrokenJson) {
    temp_dir dir;
    auto missing = load_config((dir.path() / "nope.json").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), errc::io_error);
    for (const char* text : {"", "{", R"({"workers": 2,})", "not json"}) {
        auto broken = load_config(dir.write("etc/h.json", text));
        ASSERT_FALSE(broken) << text;
        EXPECT_EQ(broken.error(), errc::parse_error) << text;
    }
}

// ---------------------------------------------------------------- load_catalogue

TEST(load_catalogue, ShippedCatalogueCoversEverySensorAndSetting) {
    auto cat = load_catalogue(source_dir + "/config/sensors.json");
    ASSERT_TRUE(cat) << cat.message();
    for (std::size_t i = 0; i < sensor_count; ++i) {
        EXPECT_LT(cat->sensors[i].min, cat->sensors[i].max) << sensor_names[i];
        EXPECT_FALSE(cat->sensors[i].unit.empty()) << sensor_names[i];
        EXPECT_FALSE(cat->sensors[i].description.empty()) << sensor_names[i];
    }
    const auto& t24 = cat->sensors[*sensor_index("T24")];
    EXPECT_EQ(t24.unit, "degR");
    EXPECT_EQ(t24.min, 450.0);
    EXPECT_EQ(t24.max, 750.0);
    const auto& tra = cat->settings[*setting_index("tra")];
    EXPECT_EQ(tra.min, 0.0);
    EXPECT_EQ(tra.max, 120.0);
}

TEST(load_catalogue, ShippedCatalogueAcceptsTypicalFd001Values) {
    auto cat = load_catalogue(source_dir + "/config/sensors.json");
    ASSERT_TRUE(cat);
    // FD001 unit 1 cycle 1, sensors in column order.
    const double row[sensor_count] = {518.67, 641.82, 1589.70, 1400.60, 14.62, 21.61, 554.36, 2388.06, 9046.19, 1.30, 47.47,
                                      521.66, 2388.02, 8138.62, 8.4195, 0.03, 392, 2388, 100.00, 39.06, 23.4190};
    for (std::size_t i = 0; i < sensor_count; ++i) EXPECT_TRUE(cat->plausible_sensor(i, row[i])) << sensor_names[i];
    EXPECT_FALSE(cat->plausible_sensor(*sensor_index("T24"), 6418.2));  // a decimal-point slip
}

// The shipped catalogue's text with the first occurrence of `from` replaced by `to`.
std::string shipped_with(const std::string& from, const std::string& to) {
    std::ifstream in(source_dir + "/config/sensors.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

TEST(load_catalogue, RejectsBrokenFiles) {
    temp_dir dir;
    struct broken_case {
        std::string text;
        std::string mention;
    };
    const broken_case cases[] = {
        {shipped_with(R"("W31":)", R"("W31x":)"), "W31"},                                    // sensor missing
        {shipped_with(R"("tra":)", R"("trb":)"), "tra"},                                      // setting missing
        {shipped_with(R"("min": 450.0, "max": 750.0)", R"("min": 750.0, "max": 450.0)"), "T24"},  // min >= max
        {shipped_with(R"("min": 450.0, "max": 750.0)", R"("min": 450.0, "max": 450.0)"), "T24"},  // empty range
        {shipped_with(R"("min": 450.0, "max": 750.0)", R"("min": "450", "max": 750.0)"), ""},     // wrong type
        {shipped_with(R"("min": 450.0, "max": 750.0)", R"("max": 750.0)"), ""},                   // no min
        {R"({"sensors": {}})", ""},
        {R"({"settings": {}})", ""},
        {"[]", ""},
        {"{", ""},
    };
    for (const auto& c : cases) {
        auto cat = load_catalogue(dir.write("cat.json", c.text));
        ASSERT_FALSE(cat) << c.text.substr(0, 200);
        EXPECT_EQ(cat.error(), errc::parse_error);
        if (!c.mention.empty()) {
            EXPECT_NE(cat.detail().find(c.mention), std::string::npos) << cat.detail();
        }
    }
    auto missing = load_catalogue((dir.path() / "none.json").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), errc::io_error);
}

// ---------------------------------------------------------------- parse_host_port

TEST(parse_host_port, SplitsHostAndPort) {
    auto v4 = parse_host_port("127.0.0.1:8080");
    ASSERT_TRUE(v4) << v4.message();
    EXPECT_EQ(v4->first, "127.0.0.1");
    EXPECT_EQ(v4->second, 8080);
    auto name = parse_host_port("localhost:65535");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->first, "localhost");
    EXPECT_EQ(name->second, 65535);
    auto zero = parse_host_port("0.0.0.0:0");  // port 0: let the OS choose
    ASSERT_TRUE(zero);
    EXPECT_EQ(zero->second, 0);
}

TEST(parse_host_port, StripsIpv6Brackets) {
    auto r = parse_host_port("[::1]:8080");
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->first, "::1");
    EXPECT_EQ(r->second, 8080);
    auto full = parse_host_port("[2001:db8::2]:443");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->first, "2001:db8::2");
    EXPECT_EQ(full->second, 443);
}

TEST(parse_host_port, RejectsMalformedInput) {
    for (const char* bad : {"", "localhost", ":8080", "localhost:", "host:65536", "host:99999999999999999999", "host:80a",
                            "host:-1", "host:+80", "host: 80", "[::1]"}) {
        auto r = parse_host_port(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), errc::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace turbotwin::codec
