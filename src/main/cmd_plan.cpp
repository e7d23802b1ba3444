// forecast, scenario and plan: the planning routes (docs/scenarios.md) from the command line,
// against a running server (--server: the REST answer as it is), a server's data folder
// (--data-dir: its stored twins, read-only) or a C-MAPSS file (--fleet: run through the twins
// offline, as predict does). The last two compute the same documents in this process.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "turbotwin/app/planning_json.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::cli {

namespace {

using nlohmann::json;

struct source_args {
    std::string server, data_dir, fleet, config, model, token, prefix = "ENG-";
};

// Utilisation, the same in forecast and plan: every engine's cycles per day, and per-engine overrides.
void add_utilisation_options(CLI::App* cmd, double& cycles_per_day, std::string& overrides) {
    cmd->add_option("--cycles-per-day", cycles_per_day, "utilisation of every engine")->check(CLI::Range(0.01, 1000.0));
    cmd->add_option("--overrides", overrides, "per-engine utilisation: ENG-1:6,ENG-2:2.5");
}

void add_source_options(CLI::App* cmd, source_args& a) {
    auto* server = cmd->add_option("--server", a.server, "a running server's base URL, e.g. http://127.0.0.1:8080");
    auto* dir = cmd->add_option("--data-dir", a.data_dir, "a server's data folder (its stored twins, read-only)");
    auto* fleet = cmd->add_option("--fleet", a.fleet, "a C-MAPSS file, run through the twins offline (as predict)");
    server->excludes(dir)->excludes(fleet);
    dir->excludes(fleet);
    cmd->add_option("--config", a.config, "config file (--data-dir, --fleet; default: config/turbotwin.json)");
    cmd->add_option("--model", a.model, "model file (--fleet; default: the config's)");
    cmd->add_option("--token", a.token, "API token for --server (default: $TURBOTWIN_API_TOKEN)");
    cmd->add_option("--prefix", a.prefix, "asset id prefix for --fleet, as given to replay");
}

[[noreturn]] void planning_fail(const std::string& command, const std::string& why) {
    std::cerr << command << ": " << why << "\n";
    throw CLI::RuntimeError(2);
}

/// One HTTP/1.1 exchange with the server: the status and body.
Result<std::pair<unsigned, std::string>> call_server(const source_args& a, bool post, const std::string& target, const std::string& body) {
    namespace beast = boost::beast;
    namespace bhttp = beast::http;
    std::string rest = a.server;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    else if (rest.find("://") != std::string::npos) return {errc::invalid_argument, "--server must be an http:// URL"};
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const auto colon = rest.rfind(':');
    const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
    const std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
    try {
        boost::asio::io_context io;
        boost::asio::ip::tcp::resolver resolver(io);
        beast::tcp_stream stream(io);
        stream.expires_after(std::chrono::seconds(60));
        stream.connect(resolver.resolve(host, port));
        bhttp::request<bhttp::string_body> req{post ? bhttp::verb::post : bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, host);
        std::string token = a.token;
        if (token.empty())
            if (const char* env = std::getenv("TURBOTWIN_API_TOKEN")) token = env;
        if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
        if (post) {
            req.set(bhttp::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        bhttp::write(stream, req);
        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(256u << 20);
        bhttp::read(stream, buffer, parser);
        beast::error_code ignored;
        stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        return std::pair<unsigned, std::string>{parser.get().result_int(), parser.get().body()};
    } catch (const std::exception& e) {
        return {errc::io_error, "cannot reach " + a.server + ": " + e.what()};
    }
}

/// Copies of the twins' outlooks from a data folder or a file, with the model's calibration.
Result<app::planning_input> load_input(const source_args& a) {
    const std::string config = a.config.empty() ? default_config_path() : a.config;
    std::string model = a.model;
    std::unique_ptr<store::database> db;
    if (!a.data_dir.empty()) {
        const auto db_path = (std::filesystem::path(a.data_dir) / "turbotwin.db").string();
        if (!std::filesystem::exists(db_path)) return {errc::not_found, "no turbotwin.db in " + a.data_dir};
        auto opened = store::database::open_reader(db_path);
        if (!opened) return {opened.error(), opened.detail()};
        db = std::move(*opened);
        // The model the server last ran (a promotion included), from its archive.
        if (auto hash = db->meta(app::serving_model_key); hash && *hash && !(*hash)->empty()) {
            const auto archived = app::archived_path(a.data_dir, "models", **hash);
            if (std::filesystem::exists(archived)) model = archived;
        }
    }
    auto rt = app::load_runtime(config, model);
    if (!rt) return {rt.error(), rt.detail()};
    app::planning_input in;
    in.calibration = rt->twin.model->calibration;
    in.critical_rul = rt->twin.alert_thresholds.critical_rul;
    auto add = [&](const twin::asset_twin& tw) {
        if (tw.closed() || !tw.last_update()) return;
        const auto& last = *tw.last_update();
        in.fleet.push_back({tw.id(), last.cycle, last.estimate.rul, last.estimate.raw, last.estimate.widening});
    };
    if (db) {
        std::size_t unreadable = 0;
        auto loaded = db->load_twins([&](store::twin_row&& row) {
            auto tw = twin::asset_twin::restore(row.snapshot, rt->twin);
            if (!tw) {
                ++unreadable;
                return;
            }
            add(*tw);
        });
        if (!loaded) return {loaded.error(), loaded.detail()};
        if (unreadable) std::cerr << "note: " << unreadable << " stored twins were written by another model and are left out\n";
    } else {
        auto file = dataset::read_cmapss(a.fleet);
        if (!file) return {file.error(), file.detail()};
        for (const auto& engine : dataset::group_by_unit(file->rows)) {
            twin::asset_twin tw(asset_id_for_unit(a.prefix, engine.unit), rt->twin);
            for (const auto& r : engine.cycles) (void)tw.process(r);
            add(tw);
        }
    }
    return in;
}

/// The document, from the server or computed here from a data folder or file.
json obtain(const std::string& command, const source_args& a, bool post, const std::string& target, const std::string& body,
            const std::function<Result<json>(const app::planning_input&)>& compute) {
    if (a.server.empty() && a.data_dir.empty() && a.fleet.empty()) planning_fail(command, "give --server URL, --data-dir DIR or --fleet FILE");
    if (!a.server.empty()) {
        auto r = call_server(a, post, target, body);
        if (!r) planning_fail(command, r.detail());
        const auto doc = json::parse(r->second, nullptr, false);
        if (r->first != 200) {
            const std::string why = !doc.is_discarded() && doc.contains("error") ? doc["error"].value("message", r->second) : r->second;
            planning_fail(command, "the server answered " + std::to_string(r->first) + ": " + why);
        }
        if (doc.is_discarded()) planning_fail(command, "the server's answer is not JSON");
        return doc;
    }
    auto in = load_input(a);
    if (!in) planning_fail(command, in.detail());
    if (in->fleet.empty()) planning_fail(command, "no engine in service with an estimate");
    auto r = compute(*in);
    if (!r) planning_fail(command, r.detail());
    return *r;
}

std::string query_number(double v) { return json(v).dump(); }

/// Both schedules judged against simulate's truth file (unit,last_cycle,true_rul_at_last_cycle,...):
/// in-service failures, removals and the life given up, as docs/scenarios.md reports them.
void judge_plans(const source_args& a, const std::string& truth_path, planning::schedule_options o, bool json_out) {
    auto in = load_input(a);
    if (!in) planning_fail("plan", in.detail());
    if (o.threshold_rul < 0) o.threshold_rul = in->critical_rul;
    std::ifstream file(truth_path);
    if (!file) planning_fail("plan", "cannot read " + truth_path);
    std::map<std::string, double, std::less<>> true_rul;
    std::string line;
    std::getline(file, line);  // header
    while (std::getline(file, line)) {
        long unit = 0, last_cycle = 0;
        double rul = 0;
        if (std::sscanf(line.c_str(), "%ld,%ld,%lf", &unit, &last_cycle, &rul) == 3) true_rul[asset_id_for_unit(a.prefix, unit)] = rul;
    }
    if (true_rul.empty()) planning_fail("plan", truth_path + " has no unit,last_cycle,true_rul rows");
    auto best = planning::optimal_schedule(in->calibration, in->fleet, o);
    auto naive = planning::threshold_schedule(in->calibration, in->fleet, o);
    if (!best) planning_fail("plan", best.detail());
    if (!naive) planning_fail("plan", naive.detail());
    json out = json::object();
    for (const auto& [name, s] : {std::pair<const char*, const planning::schedule*>{"optimal", &*best}, {"threshold", &*naive}}) {
        const auto j = planning::judge(*s, in->fleet, true_rul, o);
        out[name] = {{"method", s->method}, {"expected_failures", s->expected_failures}, {"failures", j.failures},
                     {"removals", j.removals}, {"mean_life_left", j.mean_life_left}};
    }
    out["engines"] = in->fleet.size();
    if (json_out) {
        std::cout << out.dump(2) << "\n";
        return;
    }
    std::cout << in->fleet.size() << " engines, " << o.weeks << " weeks, " << o.capacity_per_week << " removals a week\n";
    for (const char* name : {"optimal", "threshold"}) {
        const auto& r = out[name];
        std::printf("%-9s expected failures %.2f | happened: %d in-service failures, %d removals, %.1f cycles of life left at removal\n", name,
                    r["expected_failures"].get<double>(), r["failures"].get<int>(), r["removals"].get<int>(), r["mean_life_left"].get<double>());
    }
}

}  // namespace

void register_planning(CLI::App& app) {
    // forecast
    {
        struct args : source_args {
            double days = 90, cycles_per_day = 4;
            std::string overrides;
            int samples = 2000;
            std::uint64_t seed = 1;
            bool json_out = false, csv = false, weeks = false;
        };
        auto a = std::make_shared<args>();
        auto* cmd = app.add_subcommand("forecast",
                                       "Fleet forecast: per engine the probability of reaching critical within the horizon, and the "
                                       "expected removals per week with a 90% interval (Monte Carlo over the twins' RUL distributions)");
        add_source_options(cmd, *a);
        cmd->add_option("--days", a->days, "horizon in days")->check(CLI::Range(1.0, 3650.0));
        add_utilisation_options(cmd, a->cycles_per_day, a->overrides);
        cmd->add_option("--samples", a->samples, "Monte Carlo draws")->check(CLI::Range(1, 20000));
        cmd->add_option("--seed", a->seed, "Monte Carlo seed");
        cmd->add_flag("--json", a->json_out, "print the JSON document (as GET /api/v1/fleet/forecast)");
        cmd->add_flag("--csv", a->csv, "print CSV: one row per engine (with --weeks, one per week)");
        cmd->add_flag("--weeks", a->weeks, "with --csv: the weekly removals");
        cmd->callback([a] {
            planning::forecast_options o;
            o.days = a->days;
            o.use.default_cycles_per_day = a->cycles_per_day;
            o.samples = a->samples;
            o.seed = a->seed;
            if (auto ok = app::parse_overrides(a->overrides, o.use); !ok) planning_fail("forecast", ok.detail());
            std::string target = "/api/v1/fleet/forecast?days=" + query_number(a->days) + "&cycles_per_day=" + query_number(a->cycles_per_day) +
                                 "&samples=" + std::to_string(a->samples) + "&seed=" + std::to_string(a->seed);
            if (!a->overrides.empty()) target += "&overrides=" + a->overrides;
            const auto doc = obtain("forecast", *a, false, target, "", [&](const app::planning_input& in) { return app::run_forecast(in, o); });
            if (a->json_out) {
                std::cout << doc.dump(2) << "\n";
                return;
            }
            if (a->csv) {
                std::cout << app::forecast_csv(doc, a->weeks);
                return;
            }
            const auto& r = doc["removals"];
            std::cout << "horizon " << format_number(doc["horizon_days"], "%.0f") << " days at " << format_number(doc["cycles_per_day"], "%g")
                      << " cycles/day; critical at RUL " << format_number(doc["critical_rul"], "%.0f") << "\n"
                      << doc["engines"].size() << " engines; expected removals " << format_number(r["mean"], "%.1f") << " (90%: "
                      << format_number(r["lo"], "%.0f") << ".." << format_number(r["hi"], "%.0f") << ")\n\nweek   days      removals  90%\n";
            for (const auto& w : doc["weeks"])
                std::printf("%4d  %3.0f-%-4.0f  %8.2f  %.0f..%.0f\n", w["week"].get<int>(), w["from_day"].get<double>(), w["to_day"].get<double>(),
                            w["removals_mean"].get<double>(), w["removals_lo"].get<double>(), w["removals_hi"].get<double>());
            std::cout << "\nmost likely to reach critical:\n";
            int shown = 0;
            for (const auto& e : doc["engines"]) {
                if (shown++ == 10) break;
                std::printf("  %-16s P=%.3f  RUL %6.1f  median %.0f days\n", e["asset"].get<std::string>().c_str(), e["p_critical"].get<double>(),
                            e["rul"].get<double>(), e["median_days_to_critical"].get<double>());
            }
        });
    }
    // scenario
    {
        struct args : source_args {
            std::string file;
            bool json_out = false;
        };
        auto a = std::make_shared<args>();
        auto* cmd = app.add_subcommand("scenario",
                                       "What-if: run a scenario (utilisation changes, deferred visits, engine swaps, a fleet plan) on "
                                       "copies of the twins and compare each engine's risk of in-service failure with the baseline");
        cmd->add_option("file", a->file, "scenario JSON (docs/scenarios.md)")->required();
        add_source_options(cmd, *a);
        cmd->add_flag("--json", a->json_out, "print the JSON document (as POST /api/v1/scenarios)");
        cmd->callback([a] {
            std::ifstream in(a->file);
            if (!in) planning_fail("scenario", "cannot read " + a->file);
            std::stringstream text;
            text << in.rdbuf();
            const auto request = json::parse(text.str(), nullptr, false);
            if (request.is_discarded()) planning_fail("scenario", a->file + " is not JSON");
            const auto doc = obtain("scenario", *a, true, "/api/v1/scenarios", request.dump(),
                                    [&](const app::planning_input& input) { return app::run_scenario_request(input, request); });
            if (a->json_out) {
                std::cout << doc.dump(2) << "\n";
                return;
            }
            const auto& ef = doc["expected_failures"];
            std::cout << "expected in-service failures before the planned visits: baseline " << format_number(ef["baseline"], "%.3f")
                      << ", scenario " << format_number(ef["scenario"], "%.3f") << " (" << format_number(ef["change"], "%+.3f") << ")\n"
                      << doc["engines_changed"] << " engines changed\n\n";
            std::printf("%-16s %7s %9s %9s %9s %9s %8s\n", "engine", "RUL", "cyc/day", "visit(d)", "risk base", "risk scen", "change");
            for (const auto& e : doc["engines"]) {
                if (!e["changed"].get<bool>() && e["scenario"]["risk"].get<double>() < 0.01) continue;
                const auto& s = e["scenario"];
                std::printf("%-16s %7.1f %9.2f %9s %9.3f %9.3f %+8.3f\n", e["asset"].get<std::string>().c_str(), e["rul"].get<double>(),
                            s["cycles_per_day"].get<double>(), format_number(s["visit_in_days"], "%.1f").c_str(),
                            e["baseline"]["risk"].get<double>(), s["risk"].get<double>(), e["risk_change"].get<double>());
            }
        });
    }
    // plan
    {
        struct args : source_args {
            int weeks = 26, capacity = 2;
            double cycles_per_day = 4, min_risk_reduction = 0.01, threshold_rul = -1;
            std::string overrides, truth;
            bool json_out = false;
        };
        auto a = std::make_shared<args>();
        auto* cmd = app.add_subcommand("plan",
                                       "Shop-visit schedule: the removals that minimise expected in-service failures within the shop's "
                                       "capacity (exact), beside the naive plan (remove when the point RUL reaches a threshold)");
        add_source_options(cmd, *a);
        cmd->add_option("--weeks", a->weeks, "horizon in weeks")->check(CLI::Range(1, 520));
        cmd->add_option("--capacity", a->capacity, "removals the shop takes per week")->check(CLI::Range(0, 10000));
        add_utilisation_options(cmd, a->cycles_per_day, a->overrides);
        cmd->add_option("--min-risk-reduction", a->min_risk_reduction, "a removal must lower the risk by this much to take a slot")
            ->check(CLI::Range(0.0, 0.999));
        cmd->add_option("--threshold-rul", a->threshold_rul, "the naive plan's threshold (default: the critical alert threshold)");
        cmd->add_flag("--json", a->json_out, "print the JSON document (as GET /api/v1/fleet/plan)");
        cmd->add_option("--truth", a->truth,
                        "with --fleet: simulate's --truth CSV; judges both plans against what happened (in-service failures, "
                        "removals, life given up)");
        cmd->callback([a] {
            if (!a->truth.empty() && a->fleet.empty()) planning_fail("plan", "--truth needs --fleet");
            planning::schedule_options o;
            o.weeks = a->weeks;
            o.capacity_per_week = a->capacity;
            o.use.default_cycles_per_day = a->cycles_per_day;
            o.min_risk_reduction = a->min_risk_reduction;
            if (auto ok = app::parse_overrides(a->overrides, o.use); !ok) planning_fail("plan", ok.detail());
            if (!a->truth.empty()) {
                o.threshold_rul = a->threshold_rul;
                judge_plans(*a, a->truth, o, a->json_out);
                return;
            }
            std::string target = "/api/v1/fleet/plan?weeks=" + std::to_string(a->weeks) + "&capacity=" + std::to_string(a->capacity) +
                                 "&cycles_per_day=" + query_number(a->cycles_per_day) + "&min_risk_reduction=" + query_number(a->min_risk_reduction);
            if (a->threshold_rul >= 0) target += "&threshold_rul=" + query_number(a->threshold_rul);
            if (!a->overrides.empty()) target += "&overrides=" + a->overrides;
            const auto doc = obtain("plan", *a, false, target, "", [&](const app::planning_input& in) {
                if (a->threshold_rul < 0) o.threshold_rul = in.critical_rul;
                else o.threshold_rul = a->threshold_rul;
                return app::run_plan(in, o);
            });

            if (a->json_out) {
                std::cout << doc.dump(2) << "\n";
                return;
            }
            std::cout << doc["weeks"] << " weeks, " << doc["capacity_per_week"] << " removals a week, "
                      << format_number(doc["cycles_per_day"], "%g") << " cycles/day\n";
            for (const char* which : {"optimal", "threshold"}) {
                const auto& s = doc[which];
                std::cout << "\n" << which << " (" << s["method"].get<std::string>() << "): " << s["removal_count"] << " removals, expected in-service failures "
                          << format_number(s["expected_failures"], "%.3f") << "\n";
                int shown = 0;
                for (const auto& r : s["removals"]) {
                    if (shown++ == 15) {
                        std::cout << "  ...\n";
                        break;
                    }
                    std::printf("  week %2d  %-16s risk if kept %.3f, before removal %.3f\n", r["week"].get<int>(), r["asset"].get<std::string>().c_str(),
                                r["risk_if_kept"].get<double>(), r["risk"].get<double>());
                }
            }
        });
    }
}

}  // namespace turbotwin::cli
