#include <cstring>
#include <type_traits>

#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::twin {

namespace {

// "TTWn", n the layout version: bump when the layout changes. Older layouts are still read:
// 3 has no alert risk_rul or acknowledgement, 4 no risk, 5 no life start or closure, 6 no
// sensor health.
constexpr std::uint32_t snapshot_magic_base = 0x54545730;
constexpr std::uint32_t snapshot_version = 7;
constexpr std::uint32_t snapshot_magic = snapshot_magic_base + snapshot_version;

class writer {
public:
    template <class T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    void put_string(const std::string& s) {
        put(std::uint32_t(s.size()));
        out_ += s;
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    template <class T>
    bool get(T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        if (in_.size() < sizeof v) return false;
        std::memcpy(&v, in_.data(), sizeof v);
        in_.remove_prefix(sizeof v);
        return true;
    }
    bool get_string(std::string& s) {
        std::uint32_t n = 0;
        if (!get(n) || in_.size() < n) return false;
        s.assign(in_.data(), n);
        in_.remove_prefix(n);
        return true;
    }
    bool done() const { return in_.empty(); }

private:
    std::string_view in_;
};

void put_alert(writer& w, const alerting::alert& a) {
    w.put_string(a.id);
    w.put(std::int32_t(a.level));
    w.put(std::int32_t(a.state));
    w.put(a.raised_cycle);
    w.put(a.cycle);
    w.put(a.rul);
    w.put(a.rul_lo);
    w.put(a.rul_hi);
    w.put(a.risk_rul);
    w.put(std::uint8_t(a.ack.has_value()));
    if (a.ack) {
        w.put_string(a.ack->by);
        w.put(a.ack->at_ms);
        w.put_string(a.ack->comment);
    }
}

bool get_alert(reader& r, const std::string& asset, alerting::alert& a, bool v3) {
    std::int32_t level = 0, state = 0;
    if (!r.get_string(a.id) || !r.get(level) || !r.get(state) || !r.get(a.raised_cycle) || !r.get(a.cycle) || !r.get(a.rul) ||
        !r.get(a.rul_lo) || !r.get(a.rul_hi))
        return false;
    if (!v3) {
        std::uint8_t has_ack = 0;
        if (!r.get(a.risk_rul) || !r.get(has_ack)) return false;
        if (has_ack) {
            alerting::acknowledgement ack;
            if (!r.get_string(ack.by) || !r.get(ack.at_ms) || !r.get_string(ack.comment)) return false;
            a.ack = std::move(ack);
        }
    }
    if (level < 0 || level > 2 || state < 0 || state > 2) return false;
    a.asset = asset;
    a.level = alerting::severity(level);
    a.state = alerting::alert_state(state);
    return true;
}

}  // namespace

std::string asset_twin::snapshot() const {
    writer w;
    w.put(snapshot_magic);
    w.put_string(id_);
    w.put(std::uint32_t(block_.filters().size()));
    for (const auto& f : block_.filters()) {
        w.put(f.state()(0));
        w.put(f.state()(1));
        w.put(f.covariance()(0, 0));
        w.put(f.covariance()(0, 1));
        w.put(f.covariance()(1, 0));
        w.put(f.covariance()(1, 1));
    }
    for (double b : block_.baselines()) w.put(b);
    w.put(innovation_ratio_);
    w.put(last_cycle_);
    w.put(applied_);
    w.put(std::uint8_t(last_.has_value()));
    if (last_) {
        w.put(last_->cycle);
        w.put(last_->estimate.rul);
        w.put(last_->estimate.rul_lo);
        w.put(last_->estimate.rul_hi);
        w.put(std::int32_t(last_->level));
        w.put(last_->risk_rul);
        w.put(last_->risk);
        w.put(last_->novelty);
        w.put(std::int32_t(last_->trust));
        w.put_string(last_->trust_reason);
    }
    w.put(std::int32_t(alerts_.current()));
    w.put(alerts_.raised_count());
    w.put(std::uint8_t(alerts_.active() != nullptr));
    if (alerts_.active()) put_alert(w, *alerts_.active());
    w.put(std::uint8_t(fault().has_value()));
    if (fault()) w.put_string(*fault());
    w.put(life_start_);
    w.put(std::uint8_t(closed().has_value()));
    if (closed()) {
        w.put_string(closed()->type);
        w.put(closed()->cycle);
    }
    for (const auto& h : block_.health()) w.put(h);
    return w.take();
}

Result<asset_twin> asset_twin::restore(std::string_view blob, const twin_config& config) {
    reader r(blob);
    std::uint32_t magic = 0, channels = 0;
    std::string id;
    if (!r.get(magic) || magic < snapshot_magic_base + 3 || magic > snapshot_magic)
        return {errc::parse_error, "not a twin snapshot of this version"};
    const std::uint32_t version = magic - snapshot_magic_base;
    const bool v3 = version == 3;
    const bool has_risk = version >= 5;
    if (!r.get_string(id) || !valid_asset_id(id)) return {errc::parse_error, "snapshot has a bad asset id"};
    if (!r.get(channels) || channels != config.model->channels.size())
        return {errc::parse_error, "snapshot of " + id + " was taken with another model (channel count differs)"};
    asset_twin t(id, config);
    for (auto& f : t.block_.filters()) {
        estimation::state_vector x;
        estimation::state_matrix p;
        if (!r.get(x(0)) || !r.get(x(1)) || !r.get(p(0, 0)) || !r.get(p(0, 1)) || !r.get(p(1, 0)) || !r.get(p(1, 1)) ||
            !f.set_state(x, p))
            return {errc::parse_error, "snapshot of " + id + ": bad filter state"};
    }
    for (double& b : t.block_.baselines())
        if (!r.get(b)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
    if (!r.get(t.innovation_ratio_)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
    std::uint8_t has_last = 0, has_active = 0, has_fault = 0;
    std::int32_t level = 0;
    std::uint64_t raised = 0;
    if (!r.get(t.last_cycle_) || !r.get(t.applied_) || !r.get(has_last)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
    if (has_last) {
        latest_estimate u;
        std::int32_t ulevel = 0;
        if (!r.get(u.cycle) || !r.get(u.estimate.rul) || !r.get(u.estimate.rul_lo) || !r.get(u.estimate.rul_hi) || !r.get(ulevel) ||
            ulevel < 0 || ulevel > 2)
            return {errc::parse_error, "snapshot of " + id + " is truncated"};
        u.level = alerting::severity(ulevel);
        std::int32_t trust = 0;
        if (!r.get(u.risk_rul) || (has_risk && !r.get(u.risk)) || !r.get(u.novelty) || !r.get(trust) || trust < 0 || trust > 1 || !r.get_string(u.trust_reason))
            return {errc::parse_error, "snapshot of " + id + " is truncated"};
        u.trust = confidence(trust);
        u.estimate.raw = u.estimate.rul;
        t.last_ = u;
    }
    if (!r.get(level) || level < 0 || level > 2 || !r.get(raised) || !r.get(has_active))
        return {errc::parse_error, "snapshot of " + id + " is truncated"};
    std::optional<alerting::alert> active;
    if (has_active) {
        alerting::alert a;
        if (!get_alert(r, id, a, v3)) return {errc::parse_error, "snapshot of " + id + ": bad alert"};
        active = std::move(a);
    }
    t.alerts_.restore(alerting::severity(level), std::move(active), raised);
    if (!r.get(has_fault)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
    if (has_fault) {
        std::string fault;
        if (!r.get_string(fault)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
        t.rare().fault = std::move(fault);
    }
    if (version >= 6) {
        std::uint8_t has_closed = 0;
        if (!r.get(t.life_start_) || !r.get(has_closed)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
        if (has_closed) {
            closure c;
            if (!r.get_string(c.type) || !r.get(c.cycle)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
            t.rare().closed = std::move(c);
        }
    }
    if (version >= 7) {
        for (auto& h : t.block_.health()) {
            if (!r.get(h)) return {errc::parse_error, "snapshot of " + id + " is truncated"};
            if (std::uint8_t(h.status) > std::uint8_t(sensor_status::failed) || std::uint8_t(h.reason) > std::uint8_t(sensor_fault::drift))
                return {errc::parse_error, "snapshot of " + id + ": bad sensor health"};
        }
    }
    if (!r.done()) return {errc::parse_error, "snapshot of " + id + " has trailing bytes"};
    return t;
}

}  // namespace turbotwin::twin
