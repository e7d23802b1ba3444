#include "turbotwin/app/runtime.hpp"

#include <gtest/gtest.h>

#include <string>

#include "temp_dir.hpp"

namespace turbotwin::app {
namespace {

const std::string source_dir = TURBOTWIN_SOURCE_DIR;

// A config naming the shipped model and catalogue, with `extra` members added at the top level.
std::string config_with(const testing_support::temp_dir& dir, const std::string& extra) {
    return dir.write("turbotwin.json", R"({"model": ")" + source_dir + R"(/models/fd001.json", "sensor_catalogue": ")" + source_dir +
                                           R"(/config/sensors.json")" + (extra.empty() ? "" : ", " + extra) + "}");
}

TEST(load_runtime, sensor_fault_settings_override_their_defaults_and_the_rest_stay) {
    testing_support::temp_dir dir("turbotwin-runtime-test");
    auto rt = load_runtime(config_with(dir, R"("sensor_faults": {"drift_recovery_sigmas": 2.5, "jump_readings": 4, "isolate": false})"));
    ASSERT_TRUE(rt.ok()) << rt.message();
    const auto& r = rt->twin.sensor_rules;
    EXPECT_EQ(r.drift_recovery_sigmas, 2.5);
    EXPECT_EQ(r.jump_readings, 4);
    EXPECT_FALSE(rt->twin.isolate_sensor_faults);
    EXPECT_EQ(r.gate_sigmas, twin::sensor_fault_rules{}.gate_sigmas);
    EXPECT_EQ(r.recovery_sigmas, twin::sensor_fault_rules{}.recovery_sigmas);
}

TEST(load_runtime, a_bad_sensor_fault_setting_is_refused_by_name) {
    testing_support::temp_dir dir("turbotwin-runtime-test");
    const std::pair<const char*, const char*> bad[] = {
        {R"("sensor_faults": {"drift_recovery": 2})", "sensor_faults.drift_recovery is not a setting"},
        {R"("sensor_faults": {"dropout_readings": 4})", "sensor_faults.dropout_readings must be a whole number in 1..3"},
        {R"("sensor_faults": {"jump_readings": 2.5})", "sensor_faults.jump_readings must be a whole number"},
        {R"("sensor_faults": {"gate_sigmas": "5"})", "sensor_faults.gate_sigmas must be a number"},
        {R"("sensor_faults": {"isolate": 1})", "sensor_faults.isolate must be true or false"},
        {R"("sensor_faults": [])", "sensor_faults must be an object"},
    };
    for (const auto& [extra, message] : bad) {
        auto rt = load_runtime(config_with(dir, extra));
        ASSERT_FALSE(rt.ok()) << extra;
        EXPECT_NE(rt.detail().find(message), std::string::npos) << rt.detail();
    }
}

TEST(load_runtime, the_config_hash_covers_the_sensor_fault_settings) {
    testing_support::temp_dir dir("turbotwin-runtime-test");
    const auto plain = load_runtime(config_with(dir, ""));
    const auto tuned = load_runtime(config_with(dir, R"("sensor_faults": {"gate_sigmas": 6})"));
    ASSERT_TRUE(plain.ok() && tuned.ok());
    EXPECT_NE(plain->twin.origin.config_hash, tuned->twin.origin.config_hash);
    EXPECT_EQ(plain->twin.origin.model_hash, tuned->twin.origin.model_hash);
}

}  // namespace
}  // namespace turbotwin::app
