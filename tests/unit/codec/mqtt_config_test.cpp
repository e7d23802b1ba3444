// The "mqtt" block's user, password and TLS keys, and their environment overrides
// (docs/security.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "turbotwin/codec/config.hpp"

namespace turbotwin::codec {
namespace {

namespace fs = std::filesystem;

class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() / ("turbotwin-mqtt-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(path_ / "etc");
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    std::string write(const std::string& name, const std::string& contents) const {
        const fs::path p = path_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << contents;
        return p.string();
    }

private:
    fs::path path_;
};

TEST(mqtt_config, NoCredentialsAndNoTlsByDefault) {
    scratch_dir dir;
    auto c = load_config(dir.write("etc/c.json", R"({"mqtt": {"client_id": "x"}})"));
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->mqtt_username, "");
    EXPECT_EQ(c->mqtt_password, "");
    EXPECT_EQ(c->mqtt_tls.ca_file, "");
    EXPECT_EQ(c->mqtt_tls.cert_file, "");
    EXPECT_EQ(c->mqtt_tls.key_file, "");
    EXPECT_TRUE(c->mqtt_tls.verify_server);
}

TEST(mqtt_config, ShippedConfigHasTheKeysEmpty) {
    auto c = load_config(std::string(TURBOTWIN_SOURCE_DIR) + "/config/turbotwin.json");
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->mqtt_username, "");
    EXPECT_EQ(c->mqtt_password, "");
    EXPECT_EQ(c->mqtt_tls.ca_file, "");  // "" stays "", not the config folder
    EXPECT_EQ(c->mqtt_tls.cert_file, "");
    EXPECT_TRUE(c->mqtt_tls.verify_server);
}

TEST(mqtt_config, ReadsUserPasswordFileAndTlsWithPathsRelativeToTheConfigFile) {
    // GIVEN a config in etc/ naming files relative to etc/ and one absolute path
    scratch_dir dir;
    dir.write("etc/secrets/mqtt.pw", "s3cret with spaces\r\nsecond line ignored\n");
    const auto path = dir.write("etc/c.json", R"({
        "broker": "ssl://broker.example:8883",
        "mqtt": {"username": "turbotwin", "password_file": "secrets/mqtt.pw",
                 "tls": {"ca_file": "certs/ca.crt", "cert_file": "../pki/client.crt", "key_file": "/abs/client.key",
                         "key_password": "kp", "verify_server": false}}})");
    // WHEN it is loaded from another working directory
    auto c = load_config(path);
    // THEN the password is the file's first line, and paths are resolved against etc/
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->broker_url, "ssl://broker.example:8883");
    EXPECT_EQ(c->mqtt_username, "turbotwin");
    EXPECT_EQ(c->mqtt_password, "s3cret with spaces");
    EXPECT_EQ(fs::path(c->mqtt_tls.ca_file), dir.path() / "etc/certs/ca.crt");
    EXPECT_EQ(fs::path(c->mqtt_tls.cert_file), dir.path() / "pki/client.crt");
    EXPECT_EQ(c->mqtt_tls.key_file, "/abs/client.key");
    EXPECT_EQ(c->mqtt_tls.key_password, "kp");
    EXPECT_FALSE(c->mqtt_tls.verify_server);
}

TEST(mqtt_config, InlinePasswordIsRead) {
    scratch_dir dir;
    auto c = load_config(dir.write("etc/c.json", R"({"mqtt": {"username": "u", "password": "p"}})"));
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->mqtt_username, "u");
    EXPECT_EQ(c->mqtt_password, "p");
}

TEST(mqtt_config, PasswordAndPasswordFileTogetherAreRejected) {
    scratch_dir dir;
    dir.write("etc/pw", "a\n");
    auto c = load_config(dir.write("etc/c.json", R"({"mqtt": {"username": "u", "password": "p", "password_file": "pw"}})"));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), errc::invalid_argument);
    EXPECT_NE(c.detail().find("not both"), std::string::npos) << c.detail();
}

TEST(mqtt_config, MissingOrEmptyPasswordFileFailsNamingKeyAndFile) {
    scratch_dir dir;
    auto missing = load_config(dir.write("etc/c.json", R"({"mqtt": {"password_file": "nope.pw"}})"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), errc::io_error);
    EXPECT_NE(missing.detail().find("mqtt.password_file"), std::string::npos) << missing.detail();
    EXPECT_NE(missing.detail().find((dir.path() / "etc/nope.pw").string()), std::string::npos) << missing.detail();

    dir.write("etc/empty.pw", "\n");
    auto empty = load_config(dir.write("etc/d.json", R"({"mqtt": {"password_file": "empty.pw"}})"));
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.detail().find("empty"), std::string::npos) << empty.detail();
}

TEST(mqtt_config, WrongTypesNameTheKey) {
    scratch_dir dir;
    const std::pair<const char*, const char*> cases[] = {
        {R"({"mqtt": {"username": 7}})", "'mqtt.username'"},
        {R"({"mqtt": {"password": true}})", "'mqtt.password'"},
        {R"({"mqtt": {"password_file": ["a"]}})", "'mqtt.password_file'"},
        {R"({"mqtt": {"tls": "on"}})", "'mqtt.tls'"},
        {R"({"mqtt": {"tls": {"ca_file": 1}}})", "'mqtt.tls.ca_file'"},
        {R"({"mqtt": {"tls": {"verify_server": "no"}}})", "'mqtt.tls.verify_server'"},
    };
    for (const auto& [text, key] : cases) {
        auto c = load_config(dir.write("etc/bad.json", text));
        ASSERT_FALSE(c) << text;
        EXPECT_EQ(c.error(), errc::parse_error) << text;
        EXPECT_NE(c.detail().find(key), std::string::npos) << c.detail();
    }
}

TEST(mqtt_config, EnvironmentOverridesTheFileWhenSetAndNotEmpty) {
    serve_config c;
    c.broker_url = "tcp://file:1883";
    c.mqtt_username = "file-user";
    c.mqtt_password = "file-pw";
    std::map<std::string, std::string> env = {{"TURBOTWIN_BROKER", "ssl://env:8883"},
                                              {"TURBOTWIN_MQTT_USERNAME", ""},  // empty: ignored
                                              {"TURBOTWIN_MQTT_PASSWORD", "env-pw"}};
    apply_mqtt_environment(c, [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
    EXPECT_EQ(c.broker_url, "ssl://env:8883");
    EXPECT_EQ(c.mqtt_username, "file-user");
    EXPECT_EQ(c.mqtt_password, "env-pw");

    apply_mqtt_environment(c, [](const char*) -> const char* { return nullptr; });
    EXPECT_EQ(c.broker_url, "ssl://env:8883");  // nothing set: nothing changes
}

TEST(mqtt_config, ProcessEnvironmentIsRead) {
    ::setenv("TURBOTWIN_MQTT_USERNAME", "from-env", 1);
    serve_config c;
    apply_mqtt_environment(c);
    ::unsetenv("TURBOTWIN_MQTT_USERNAME");
    EXPECT_EQ(c.mqtt_username, "from-env");
}

TEST(read_password_file, FirstLineWithoutLineEnd) {
    scratch_dir dir;
    auto pw = read_password_file(dir.write("pw", "only-line"));
    ASSERT_TRUE(pw) << pw.message();
    EXPECT_EQ(*pw, "only-line");
    auto crlf = read_password_file(dir.write("pw2", "p\r\n"));
    ASSERT_TRUE(crlf);
    EXPECT_EQ(*crlf, "p");
    auto none = read_password_file((dir.path() / "missing").string());
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error(), errc::io_error);
    EXPECT_NE(none.detail().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace turbotwin::codec
