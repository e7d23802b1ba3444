// Credentials and TLS options: what is checked before connecting, and that a TLS setting
// never falls back to clear text. A full TLS + password + ACL round trip with a real broker is
// tests/integration/test_mqtt_security.py (it needs openssl to make certificates).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "mosquitto_broker.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace turbotwin::mqtt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::broker_test;

// Enough for check_options, which looks for a PEM header; OpenSSL would reject it at connect.
constexpr const char* pem_like = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";  // Debian ca-certificates

class files {
public:
    files() {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() / ("turbotwin-tls-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(dir_);
    }
    ~files() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name, std::ios::binary) << text;
        return (dir_ / name).string();
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

private:
    fs::path dir_;
};

client_options tls_to(const std::string& url) {
    client_options o;
    o.broker_url = url;
    return o;
}

TEST(mqtt_tls, uses_tls_for_tls_schemes_and_for_tls_files) {
    EXPECT_FALSE(uses_tls(tls_to("tcp://h:1883")));
    EXPECT_FALSE(uses_tls(tls_to("mqtt://h:1883")));
    EXPECT_TRUE(uses_tls(tls_to("ssl://h:8883")));
    EXPECT_TRUE(uses_tls(tls_to("mqtts://h:8883")));
    auto o = tls_to("tcp://h:8883");
    o.tls.ca_file = "/x/ca.crt";
    EXPECT_TRUE(uses_tls(o));
    auto k = tls_to("tcp://h:8883");
    k.tls.verify_server = false;  // a flag alone does not turn TLS on
    EXPECT_FALSE(uses_tls(k));
}

TEST(mqtt_tls, check_options_accepts_plain_and_complete_tls_settings) {
    files f;
    EXPECT_TRUE(check_options(tls_to("tcp://127.0.0.1:1883")).ok());
    EXPECT_TRUE(check_options(tls_to("127.0.0.1:1883")).ok());  // Paho reads it as tcp://
    auto o = tls_to("ssl://127.0.0.1:8883");
    o.username = "u";
    o.password = "p";
    o.tls.ca_file = f.write("ca.crt", pem_like);
    o.tls.cert_file = f.write("client.crt", pem_like);
    o.tls.key_file = f.write("client.key", "-----BEGIN PRIVATE KEY-----\n");
    auto r = check_options(o);
    EXPECT_TRUE(r.ok()) << r.message();
}

TEST(mqtt_tls, check_options_names_each_problem) {
    files f;
    struct bad_case {
        client_options options;
        errc code;
        std::string mention;
    };
    auto with = [](auto change) {
        auto o = tls_to("ssl://127.0.0.1:8883");
        change(o);
        return o;
    };
    const std::string not_pem = f.write("notes.txt", "just text\n");
    const std::string missing = f.path("missing.crt");
    const std::string folder = f.path("");
    const bad_case cases[] = {
        {tls_to("nonsense://h:1"), errc::invalid_argument, "must start with tcp://, ssl:// or mqtts://"},
        {tls_to(""), errc::invalid_argument, "must start with"},
        {with([](auto& o) { o.password = "p"; }), errc::invalid_argument, "password needs a username"},
        {with([](auto& o) { o.tls.key_file = "/k.pem"; }), errc::invalid_argument, "needs its client certificate"},
        {with([&](auto& o) { o.tls.ca_file = missing; }), errc::io_error, "TLS CA file '" + missing + "': no such file"},
        {with([&](auto& o) { o.tls.ca_file = folder; }), errc::io_error, "not a regular file"},
        {with([&](auto& o) { o.tls.cert_file = not_pem; }), errc::io_error, "TLS client certificate '" + not_pem + "': not a PEM file"},
        {with([&](auto& o) {
             o.tls.cert_file = f.write("c.crt", pem_like);
             o.tls.key_file = missing;
         }),
         errc::io_error, "TLS private key '" + missing + "'"},
    };
    for (const auto& c : cases) {
        auto r = check_options(c.options);
        ASSERT_FALSE(r.ok()) << c.mention;
        EXPECT_EQ(r.error(), c.code) << r.detail();
        EXPECT_NE(r.detail().find(c.mention), std::string::npos) << r.detail();
    }
}

TEST(mqtt_tls, plain_url_ignores_tls_flags_but_tls_files_make_it_ssl) {
    files f;
    auto o = tls_to("tcp://127.0.0.1:1");
    o.tls.ca_file = f.write("ca.crt", pem_like);
    client c(o);
    EXPECT_EQ(c.options().broker_url, "ssl://127.0.0.1:1");
    auto m = tls_to("mqtt://127.0.0.1:1");
    m.tls.cert_file = f.write("c.crt", pem_like);
    client d(m);
    EXPECT_EQ(d.options().broker_url, "ssl://127.0.0.1:1");
    client e(tls_to("tcp://127.0.0.1:1"));
    EXPECT_EQ(e.options().broker_url, "tcp://127.0.0.1:1");
}

TEST(mqtt_tls, missing_ca_file_fails_connect_at_once_with_the_path) {
    files f;
    auto o = tls_to("ssl://127.0.0.1:1");
    o.tls.ca_file = f.path("absent-ca.crt");
    client c(o);
    const auto start = std::chrono::steady_clock::now();
    auto r = c.connect(5s);
    ASSERT_FALSE(r.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(r.detail(), "cannot connect to ssl://127.0.0.1:1: TLS CA file '" + o.tls.ca_file + "': no such file");
    EXPECT_FALSE(c.publish("a/b", "x", 1));  // refused, never thrown
}

// A client configured for TLS must never talk MQTT in clear text, even when the URL says
// tcp:// and the port is a plain listener: the TLS handshake fails and so does connect.
TEST_F(broker_test, tls_settings_never_fall_back_to_clear_text) {
    if (!fs::exists(system_ca_bundle)) GTEST_SKIP() << system_ca_bundle << " missing (Debian: ca-certificates)";
    auto o = tls_to(broker_.url());  // tcp://127.0.0.1:PORT, a plain listener
    o.tls.ca_file = system_ca_bundle;
    o.username = "u";
    o.password = "p";
    client c(o);
    auto r = c.connect(5s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.detail().rfind("cannot connect to ssl://127.0.0.1:", 0), 0u) << r.detail();
    EXPECT_FALSE(c.connected());

    client s(tls_to("ssl://127.0.0.1:" + std::to_string(broker_.port())));  // system store, no files
    EXPECT_FALSE(s.connect(5s).ok());
}

}  // namespace
}  // namespace turbotwin::mqtt
