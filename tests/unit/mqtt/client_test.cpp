#include "turbotwin/mqtt/client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mosquitto_broker.hpp"

namespace turbotwin::mqtt {
namespace {

using namespace std::chrono_literals;
using test::broker_test;
using test::eventually;

// Collects what a client receives; the callback only copies under a mutex, as Paho wants.
struct inbox {
    std::mutex mu;
    std::vector<message> messages;

    void attach(client& c) {
        c.on_message([this](message&& m) {
            std::lock_guard lk(mu);
            messages.push_back(std::move(m));
        });
    }
    std::size_t size() {
        std::lock_guard lk(mu);
        return messages.size();
    }
    std::vector<message> copy() {
        std::lock_guard lk(mu);
        return messages;
    }
};

client_options options_for(const std::string& url) {
    client_options o;
    o.broker_url = url;
    return o;
}

TEST(mqtt_client, connect_to_dead_port_fails_with_clear_message) {
    const int port = test::free_loopback_port();
    ASSERT_GT(port, 0);
    const std::string url = "tcp://127.0.0.1:" + std::to_string(port);
    client c(options_for(url));
    const auto start = std::chrono::steady_clock::now();
    auto r = c.connect(2s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::io_error);
    EXPECT_EQ(r.detail().rfind("cannot connect to " + url + ": ", 0), 0u) << r.detail();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "a refused connection must not wait for the timeout";
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.link_up());
}

TEST(mqtt_client, invalid_url_is_an_error_not_an_exception) {
    client c(options_for("nonsense://127.0.0.1:1883"));
    auto r = c.connect(1s);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.detail().find("cannot connect to nonsense://127.0.0.1:1883"), std::string::npos) << r.detail();
    EXPECT_FALSE(c.publish("a/b", "x", 1));
    EXPECT_EQ(c.publish_failures(), 1u);
}

TEST(mqtt_client, publish_before_connect_is_buffered_without_throwing) {
    // Alerts re-derived from the journal at start-up are published before the first connect:
    // they must be queued for the broker, not refused.
    client c(options_for("tcp://127.0.0.1:1"));
    EXPECT_TRUE(c.publish("a/b", "x", 1));
    EXPECT_TRUE(c.publish_tracked("a/b", "x", 1).ok());
    EXPECT_EQ(c.publish_failures(), 0u);
}

TEST(mqtt_client, generated_client_ids_are_unique) {
    client a(options_for("tcp://127.0.0.1:1")), b(options_for("tcp://127.0.0.1:1"));
    EXPECT_NE(a.options().client_id, b.options().client_id);
    EXPECT_LE(a.options().client_id.size(), 23u);
}

// Paho C (1.3.12) makes a second client in one process wait ~2 s for its CONNACK (its receive
// thread polls the first client's socket with a 1 s timeout; eclipse-paho/paho.mqtt.c#1430), so
// only this test uses two clients; the others publish to their own subscription.
TEST_F(broker_test, publish_subscribe_round_trip_in_order) {
    inbox in;  // before the clients: it must outlive their callbacks
    client sub(options_for(broker_.url())), pub(options_for(broker_.url()));
    in.attach(sub);
    ASSERT_TRUE(sub.subscribe("tt/test/0", 1).ok());  // before connect: issued on connect
    ASSERT_TRUE(sub.connect(5s).ok());
    ASSERT_TRUE(sub.subscribe("tt/test/+", 1).ok());  // overlaps: mosquitto delivers once per client
    ASSERT_TRUE(pub.connect(5s).ok());
    EXPECT_TRUE(pub.connected());

    const int n = 200;
    auto payload_of = [](int i) {
        std::string p = "msg " + std::to_string(i);
        p.push_back('\0');  // binary-safe
        return p + "tail";
    };
    for (int i = 0; i < n; ++i) ASSERT_TRUE(pub.publish("tt/test/" + std::to_string(i % 3), payload_of(i), 1));
    ASSERT_TRUE(eventually([&] { return in.size() >= n; })) << "received " << in.size();
    std::this_thread::sleep_for(100ms);  // would a duplicate show up?
    const auto got = in.copy();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(got[i].payload, payload_of(i));
        EXPECT_EQ(got[i].topic, "tt/test/" + std::to_string(i % 3));
        EXPECT_EQ(got[i].qos, 1);
    }
    EXPECT_EQ(pub.publish_failures(), 0u);
    EXPECT_EQ(sub.reconnects(), 0u);
}

TEST_F(broker_test, tracked_publish_is_acknowledged) {
    client pub(options_for(broker_.url()));
    ASSERT_TRUE(pub.connect(5s).ok());
    auto tok = pub.publish_tracked("tt/ack", "hello", 1);
    ASSERT_TRUE(tok.ok()) << tok.message();
    auto acked = wait_for_ack(*tok, 5s);
    ASSERT_TRUE(acked.ok()) << acked.message();
    EXPECT_TRUE(*acked);
    EXPECT_FALSE(wait_for_ack(nullptr, 0ms).ok());
}

TEST_F(broker_test, resubscribes_after_broker_restart) {
    // GIVEN a client subscribed to its own topic on a broker without persistence
    inbox in;
    client c(options_for(broker_.url()));
    in.attach(c);
    ASSERT_TRUE(c.connect(5s).ok());
    ASSERT_TRUE(c.subscribe("tt/restart", 1).ok());
    ASSERT_TRUE(c.publish("tt/restart", "before", 1));
    ASSERT_TRUE(eventually([&] { return in.size() == 1; }));

    // WHEN the broker restarts on the same port, forgetting every subscription
    const auto error = broker_.restart();
    ASSERT_TRUE(error.empty()) << error;

    // THEN the client reconnects on its own and receives again: it re-issued the subscription
    ASSERT_TRUE(eventually([&] { return c.connected(); }, 8s));
    EXPECT_TRUE(eventually([&] { return c.link_up(); })) << "link_up() must follow a reconnect";
    EXPECT_EQ(c.reconnects(), 1u);
    ASSERT_TRUE(eventually([&] {
        c.publish("tt/restart", "after", 1);
        return in.size() >= 2;
    }, 5s)) << "no message after the restart: subscription not restored";
    EXPECT_EQ(in.copy()[1].payload, "after");
}

TEST_F(broker_test, destructor_is_prompt_while_reconnecting) {
    auto c = std::make_unique<client>(options_for(broker_.url()));
    ASSERT_TRUE(c->connect(5s).ok());
    EXPECT_TRUE(eventually([&] { return c->link_up(); }));
    broker_.stop();
    ASSERT_TRUE(eventually([&] { return !c->connected(); }));
    EXPECT_FALSE(c->link_up()) << "link_up() must follow a lost connection";
    std::this_thread::sleep_for(300ms);  // inside the first backoff sleep
    const auto start = std::chrono::steady_clock::now();
    c.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace turbotwin::mqtt
