#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/explain.hpp"

namespace turbotwin::cli {

namespace {
using nlohmann::json;

std::string num(const json& v, const char* format = "%.4g") { return format_number(v, format); }

void print_state(const json& s) {
    const auto& e = s.at("estimate");
    std::cout << "estimate   RUL " << num(e["rul"]) << " [" << num(e["rul_lo"]) << ", " << num(e["rul_hi"]) << "]  alerting quantile "
              << num(e["risk_rul"]) << "  P(critical) " << num(e["risk"], "%.3f") << "  severity " << e["severity"].get<std::string>()
              << "  confidence " << e["confidence"].get<std::string>();
    if (!e["confidence_reason"].get<std::string>().empty()) std::cout << " (" << e["confidence_reason"].get<std::string>() << ")";
    std::cout << "\n           novelty " << num(e["novelty"]) << "  innovation ratio " << num(e["innovation_ratio"]) << "  cycle "
              << s["cycle"] << " (life from " << s["life_start"] << ")\n\n";
    std::printf("%-10s %12s %10s %12s %10s %12s  %s\n", "sensor", "level", "sd", "trend", "sd", "baseline", "health");
    for (const auto& c : s.at("channels")) {
        std::string health = c["health"]["status"].get<std::string>();
        if (!c["health"]["reason"].is_null()) health += " (" + c["health"]["reason"].get<std::string>() + " since " + c["health"]["since"].dump() + ")";
        std::printf("%-10s %12s %10s %12s %10s %12s  %s\n", c["sensor"].get<std::string>().c_str(), num(c["level"], "%.6g").c_str(),
                    num(c["level_std"], "%.3g").c_str(), num(c["slope"], "%.3g").c_str(), num(c["slope_std"], "%.3g").c_str(),
                    num(c["baseline"], "%.6g").c_str(), health.c_str());
    }
    const auto& k = s.at("contributions");
    if (k.is_null()) {
        std::cout << "\n(no feature contributions: the model has no training covers; retrain it to get them)\n";
        return;
    }
    std::cout << "\nwhat moved the prediction (TreeSHAP, cycles of RUL; bias " << num(k["bias"]) << ")\n";
    std::printf("%-16s %12s %12s\n", "feature", "value", "contribution");
    for (const auto& f : k["top_features"])
        std::printf("%-16s %12s %+12.3f\n", f["feature"].get<std::string>().c_str(), num(f["value"], "%.6g").c_str(), f["contribution"].get<double>());
    std::cout << "by sensor:";
    for (const auto& b : k["by_sensor"]) std::printf(" %s %+.2f", b["sensor"].get<std::string>().c_str(), b["contribution"].get<double>());
    std::cout << "\n";
}
}  // namespace

void register_explain(CLI::App& app) {
    struct args {
        std::string data_dir, alert_id, config, model;
        bool json_out = false;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("explain",
                                   "Re-run an engine's stored history up to an alert with the model that fired it, and compare the twin's state "
                                   "with what the alert kept (exit 0: reproduced, 1: differs)");
    cmd->add_option("alert_id", a->alert_id, "alert id, e.g. ENG-007-1 or ENG-007-T50-142")->required();
    cmd->add_option("--data-dir", a->data_dir, "the server's data folder")->required();
    cmd->add_option("--config", a->config, "config to use when the data dir has no copy of the alert's (default: config/turbotwin.json)");
    cmd->add_option("--model", a->model, "model to use when the data dir has no copy of the alert's (default: the config's)");
    cmd->add_flag("--json", a->json_out, "print the whole comparison as JSON");
    cmd->callback([a] {
        app::explain_options o;
        o.fallback_config = a->config.empty() ? default_config_path() : a->config;
        o.fallback_model = a->model;
        auto x = app::explain_alert(a->data_dir, a->alert_id, o);
        if (!x) {
            std::cerr << "explain: " << x.message() << "\n";
            throw CLI::RuntimeError(2);
        }
        if (a->json_out) {
            json differences = json::array();
            for (const auto& d : x->differences) differences.push_back({{"path", d.path}, {"stored", d.stored}, {"recomputed", d.recomputed}});
            json out = {{"alert", x->alert.id},
                        {"asset", x->alert.asset},
                        {"raised_cycle", x->alert.raised_cycle},
                        {"model_file", x->model_file},
                        {"config_file", x->config_file},
                        {"provenance_notes", x->provenance_notes},
                        {"readings", x->readings},
                        {"readings_missing", x->readings_missing},
                        {"events", x->events},
                        {"raised_again", x->raised_again},
                        {"values_compared", x->values_compared},
                        {"differences", differences},
                        {"reproduced", x->reproduced()},
                        {"stored", x->stored},
                        {"recomputed", x->recomputed}};
            std::cout << out.dump(2) << "\n";
        } else {
            const auto& al = x->alert;
            std::cout << "alert      " << al.id << "  " << alerting::to_string(al.type) << "  " << alerting::to_string(al.level);
            if (al.type == alerting::alert_type::sensor_fault) std::cout << "  " << al.sensor << " " << al.reason;
            std::cout << "  raised at cycle " << al.cycle << " on " << al.asset;
            if (al.raised_cycle != al.cycle) std::cout << " (fault since cycle " << al.raised_cycle << ")";
            std::cout << "\n";
            std::cout << "provenance model " << al.model << " " << al.model_hash << "\n           config " << al.config_hash << "\n           code "
                      << al.code_version << "\n";
            std::cout << "re-run     " << x->readings << " stored readings, " << x->events << " operator events, model "
                      << (x->model_archived ? "from the data dir's archive" : x->model_file) << ", config "
                      << (x->config_archived ? "from the data dir's archive" : x->config_file) << "\n";
            for (const auto& n : x->provenance_notes) std::cout << "note       " << n << "\n";
            if (x->readings_missing > 0)
                std::cout << "note       " << x->readings_missing << " history rows were stored without their reading (before schema 6)\n";
            std::cout << "\n";
            print_state(x->stored.is_null() ? x->recomputed : x->stored);
            std::cout << "\n";
            if (x->stored.is_null()) std::cout << "the alert kept no twin state (raised before turbotwin kept it): shown is the re-run's\n";
            if (!x->raised_again) std::cout << "the re-run did not raise " << al.id << " at cycle " << al.cycle << "\n";
            for (const auto& d : x->differences)
                std::cout << "differs    " << d.path << ": alert kept " << d.stored.dump() << ", re-run gives " << d.recomputed.dump() << "\n";
            if (x->reproduced())
                std::cout << "reproduced: the re-run raised " << al.id << " again and all " << x->values_compared
                          << " values of the twin's state are equal to the last digit\n";
            else
                std::cout << "NOT reproduced (" << x->differences.size() << " of " << x->values_compared << " values differ)\n";
        }
        if (!x->reproduced()) throw CLI::RuntimeError(1);
    });
}

}  // namespace turbotwin::cli
