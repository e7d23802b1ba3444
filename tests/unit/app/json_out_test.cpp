#include "turbotwin/app/json_out.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace turbotwin::app {
namespace {

twin::twin_update sample_update() {
    twin::twin_update u;
    u.cycle = 187;
    u.estimate.rul = 23.456789012345678;
    u.estimate.rul_lo = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
    u.estimate.rul_hi = 1e-7;
    u.level = alerting::severity::warning;
    u.trust = twin::confidence::low;
    u.ts_ms = 1764000000123;
    u.risk = 0.1234567890123;
    u.risk_rul = 19.600000000000001;
    u.novelty = 0.7;
    return u;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(rul_message, HasEveryFieldWithNumbersThatParseBackBitForBit) {
    // GIVEN an update with awkward numbers and a reason that needs escaping
    auto u = sample_update();
    u.trust_reason = "novelty \"high\"\\ (2.0 > 1)\nsecond line\t\x01";
    // WHEN it is encoded and parsed by a general JSON parser
    const auto j = nlohmann::json::parse(rul_message("ENG-042", u));
    // THEN every field is there, with the exact values
    EXPECT_EQ(j.size(), 13u);
    EXPECT_TRUE(same_bits(j.at("risk").get<double>(), u.risk));
    EXPECT_TRUE(same_bits(j.at("risk_rul").get<double>(), u.risk_rul));
    EXPECT_TRUE(same_bits(j.at("novelty").get<double>(), u.novelty));
    EXPECT_EQ(j.at("asset"), "ENG-042");
    EXPECT_EQ(j.at("cycle"), 187);
    EXPECT_TRUE(same_bits(j.at("rul").get<double>(), u.estimate.rul));
    EXPECT_TRUE(same_bits(j.at("rul_lo").get<double>(), u.estimate.rul_lo));
    EXPECT_TRUE(same_bits(j.at("rul_hi").get<double>(), u.estimate.rul_hi));
    EXPECT_EQ(j.at("severity"), "warning");
    EXPECT_EQ(j.at("confidence"), "low");
    EXPECT_EQ(j.at("confidence_reason"), u.trust_reason);
    EXPECT_EQ(j.at("ts"), 1764000000123);
    EXPECT_EQ(j.at("sensor_faults"), nlohmann::json::array());
}

TEST(rul_message, NamesWhatProducedItWhenGivenItsOrigin) {
    const twin::provenance origin{"fd001", "sha256:ab", "sha256:cd", "0.1.0+123abc"};
    const auto j = nlohmann::json::parse(rul_message("E", sample_update(), &origin));
    EXPECT_EQ(j.at("provenance"), nlohmann::json::parse(R"({"code_version":"0.1.0+123abc","config_hash":"sha256:cd","model":"fd001",
                                                              "model_hash":"sha256:ab"})"));
    EXPECT_FALSE(nlohmann::json::parse(rul_message("E", sample_update())).contains("provenance"));
}

TEST(rul_message, ListsTheSensorsNotOk) {
    auto u = sample_update();
    u.sensor_faults = {{"T50", twin::sensor_status::failed, twin::sensor_fault::stuck, 120, std::nullopt, twin::sensor_fault::none},
                       {"Ps30", twin::sensor_status::suspect, twin::sensor_fault::spike, 187, std::nullopt, twin::sensor_fault::none}};
    const auto j = nlohmann::json::parse(rul_message("E", u));
    EXPECT_EQ(j.at("sensor_faults"), nlohmann::json::parse(R"([{"reason":"stuck","sensor":"T50","since":120,"status":"failed"},
                                                                {"reason":"spike","sensor":"Ps30","since":187,"status":"suspect"}])"));
}

TEST(rul_message, NullReasonWhenConfidentAndNoTsWhenTheReadingHadNone) {
    auto u = sample_update();
    u.trust = twin::confidence::high;
    u.ts_ms.reset();
    const auto j = nlohmann::json::parse(rul_message("E", u));
    EXPECT_TRUE(j.at("confidence_reason").is_null());
    EXPECT_FALSE(j.contains("ts"));
    EXPECT_EQ(j.at("confidence"), "high");
}

TEST(rul_message, NonFiniteNumbersAreNullNotInvalidJson) {
    auto u = sample_update();
    u.estimate.rul_hi = std::numeric_limits<double>::infinity();
    const auto j = nlohmann::json::parse(rul_message("E", u));
    EXPECT_TRUE(j.at("rul_hi").is_null());
}

asset_summary busy_summary() {
    asset_summary s;
    s.id = "ENG-007";
    s.last_cycle = 191;
    s.rul = 12.345678901234567;
    s.rul_lo = 0.1 + 0.2;
    s.rul_hi = 1e-7;
    s.level = alerting::severity::critical;
    s.trust = twin::confidence::low;
    s.risk_rul = 3.5;
    s.risk = 0.875;
    s.novelty = std::numeric_limits<double>::quiet_NaN();
    s.readings = 191;
    s.life_start = 40;
    s.notes = std::make_shared<const asset_notes>(asset_notes{"readings \"odd\"\n", "ENG-007-2", "numerical fault in T30 filter at cycle 5",
                                                              twin::asset_twin::closure{"removal", 191}});
    s.channels = {{1589.7234f, 0.25f, 0.0125f, 0.001f}, {47.51f, 0.02f, -0.0003f, 1e-5f}};
    s.sensor_faults = {{1, twin::sensor_status::failed, twin::sensor_fault::drift, 150}};
    s.updated_ms = 1764000000999;
    return s;
}

TEST(asset_json_text, SameDocumentAsTheJsonObjectBuilder) {
    const std::vector<std::string> names = {"T30", "Ps30"};
    asset_summary quiet;
    quiet.id = "ENG-001";
    quiet.novelty = 0.5;
    for (const auto& s : {busy_summary(), quiet}) {
        for (bool detail : {false, true}) {
            const auto channel_names = detail ? std::span<const std::string>(names) : std::span<const std::string>();
            auto written = nlohmann::json::parse(asset_json_text(s, channel_names));
            auto built = asset_json(s, channel_names);
            // Channel values are single precision: written as the shortest float text, which
            // the builder (doubles only) prints longer; compare them as floats.
            if (detail) {
                EXPECT_EQ(written["sensors"].size(), s.channels.size());
                for (std::size_t i = 0; i < s.channels.size(); ++i)
                    for (const auto& n : {names[i]})
                    for (const char* field : {"level", "level_std", "slope", "slope_std"})
                        EXPECT_EQ(written["sensors"][n][field].get<float>(), built["sensors"][n][field].get<float>()) << n << field;
                for (const auto& n : names) EXPECT_EQ(written["sensors"][n]["health"], built["sensors"][n]["health"]) << n;
                if (!s.channels.empty()) {
                    EXPECT_EQ(written["sensors"]["Ps30"]["health"], s.sensor_faults.empty() ? "ok" : "failed");
                }
                EXPECT_EQ(written["sensor_faults"].size(), s.sensor_faults.size());
                written.erase("sensors");
                built.erase("sensors");
            }
            EXPECT_EQ(written, built) << s.id << (detail ? " detail" : "");
        }
    }
}

}  // namespace
}  // namespace turbotwin::app
