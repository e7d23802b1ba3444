#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/app/shadow_report.hpp"
#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/store/database.hpp"

namespace turbotwin::cli {

namespace {
using nlohmann::json;
}  // namespace

void register_shadow_report(CLI::App& app) {
    struct args {
        std::string data_dir;
        bool json_out = false;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("shadow-report",
                                   "Compare the shadow (candidate) model with the active one over the live stream a server stored: RUL "
                                   "disagreement, alerts earlier or later, errors on engines with a recorded failure or removal");
    cmd->add_option("--data-dir", a->data_dir, "the server's data folder")->required();
    cmd->add_flag("--json", a->json_out, "print the report as JSON (as GET /api/v1/models/shadow/report)");
    cmd->callback([a] {
        auto fail = [](const std::string& why) {
            std::cerr << "shadow-report: " << why << "\n";
            throw CLI::RuntimeError(2);
        };
        const auto db_path = (std::filesystem::path(a->data_dir) / "turbotwin.db").string();
        if (!std::filesystem::exists(db_path)) fail("no turbotwin.db in " + a->data_dir);
        auto db = store::database::open_reader(db_path);
        if (!db) fail(db.message());
        auto active = (*db)->meta(app::serving_model_key);
        auto shadow = (*db)->meta(app::serving_shadow_key);
        if (!active || !shadow) fail("cannot read which models the server ran");
        if (!*shadow || (*shadow)->empty()) fail("the server last ran without a shadow model (serve --shadow-model PATH)");
        double rul_cap = 125;
        if (auto m = prognostics::load_model(app::archived_path(a->data_dir, "models", **active))) rul_cap = m->rul_cap;
        auto report = app::shadow_report(**db, active->value_or(""), **shadow, rul_cap);
        if (!report) fail(report.message());
        const json& r = *report;
        if (a->json_out) {
            std::cout << r.dump(2) << "\n";
            return;
        }
        std::cout << "active " << **active << "\nshadow " << **shadow << "\n" << r["engines"] << " engines, " << r["readings"]
                  << " readings estimated by both\n\n";
        const auto& d = r["disagreement"];
        std::cout << "RUL, shadow - active: mean " << format_number(d["mean_shadow_minus_active"]) << ", |difference| mean "
                  << format_number(d["mean_abs"]) << ", p90 " << format_number(d["p90_abs"]) << ", max " << format_number(d["max_abs"])
                  << " cycles\n\n";
        std::cout << "first alert of the shadow vs the active model (engines):\n";
        std::printf("%-9s %8s %6s %5s %12s %12s %8s %18s\n", "", "earlier", "later", "same", "only active", "only shadow", "neither",
                    "mean lead (cycles)");
        for (const char* level : {"warning", "critical"}) {
            const auto& c = r["alerts"][level];
            std::printf("%-9s %8d %6d %5d %12d %12d %8d %18s\n", level, c["earlier"].get<int>(), c["later"].get<int>(), c["same"].get<int>(),
                        c["only_active"].get<int>(), c["only_shadow"].get<int>(), c["neither"].get<int>(),
                        format_number(c["mean_lead_cycles"], "%+.1f").c_str());
        }
        const auto& g = r["ground_truth"];
        std::cout << "\nengines with a recorded failure or removal: " << g["engines"] << " (" << g["readings"]
                  << " readings; true RUL capped at " << format_number(g["rul_cap"], "%.0f") << ")\n";
        if (g["engines"].get<int>() > 0) {
            std::cout << "RMSE active " << format_number(g["active_rmse"]) << ", shadow " << format_number(g["shadow_rmse"]) << "\n";
            for (const auto& e : g["per_engine"])
                std::cout << "  " << e["asset"].get<std::string>() << " " << e["event"].get<std::string>() << " at " << e["cycle"]
                          << ": active " << format_number(e["active_rmse"]) << ", shadow " << format_number(e["shadow_rmse"]) << "\n";
        }
        std::cout << "\nlargest disagreement:\n";
        int shown = 0;
        for (const auto& e : r["per_engine"]) {
            if (shown++ == 5) break;
            std::cout << "  " << e["asset"].get<std::string>() << ": mean |difference| " << format_number(e["mean_abs_difference"])
                      << ", warning " << e["alerts"]["warning"]["verdict"].get<std::string>() << ", critical "
                      << e["alerts"]["critical"]["verdict"].get<std::string>() << "\n";
        }
    });
}

}  // namespace turbotwin::cli
