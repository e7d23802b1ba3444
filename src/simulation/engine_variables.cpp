#include "engine_variables.hpp"

#include <array>
#include <cmath>

namespace turbotwin::simulation::detail {

std::string variable_name(std::size_t slot) {
    if (slot == life_slot) return "log_life";
    if (slot == wear_k_slot) return "log_wear_k";
    const std::size_t column = (slot - 2) / 2;
    return std::string(column_name(column)) + (slot % 2 == 0 ? ".initial" : ".drift");
}

std::optional<std::size_t> variable_slot(std::string_view name) {
    for (std::size_t slot = 0; slot < variable_count; ++slot)
        if (variable_name(slot) == name) return slot;
    return std::nullopt;
}

namespace {
// Plain Cholesky-Banachiewicz; false when a pivot is not clearly positive.
bool cholesky(const matrix& a, matrix& l) {
    const std::size_t n = a.size();
    l.assign(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j <= i; ++j) {
            double s = a[i][j];
            for (std::size_t k = 0; k < j; ++k) s -= l[i][k] * l[j][k];
            if (i == j) {
                if (!(s > 1e-10)) return false;
                l[i][i] = std::sqrt(s);
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    return true;
}
// Cyclic Jacobi: slow for big matrices, exact enough and a few lines for our 30 x 30.
void symmetric_eigen(matrix a, std::vector<double>& values, matrix& vectors) {
    const std::size_t n = a.size();
    vectors.assign(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) vectors[i][i] = 1.0;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0;
        for (std::size_t p = 0; p < n; ++p)
            for (std::size_t q = p + 1; q < n; ++q) off += a[p][q] * a[p][q];
        if (off < 1e-22) break;
        for (std::size_t p = 0; p < n; ++p)
            for (std::size_t q = p + 1; q < n; ++q) {
                if (std::abs(a[p][q]) < 1e-300) continue;
                const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (std::size_t k = 0; k < n; ++k) {  // columns p, q
                    const double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < n; ++k) {  // rows p, q
                    const double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double vkp = vectors[k][p], vkq = vectors[k][q];
                    vectors[k][p] = c * vkp - s * vkq;
                    vectors[k][q] = s * vkp + c * vkq;
                }
            }
    }
    values.resize(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = a[i][i];
}
}  // namespace

matrix nearest_correlation(const matrix& r, double min_eigenvalue) {
    const std::size_t n = r.size();
    std::vector<double> values;
    matrix vectors;
    symmetric_eigen(r, values, vectors);
    for (double& v : values) v = std::max(v, min_eigenvalue);
    matrix out(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            double s = 0.0;
            for (std::size_t k = 0; k < n; ++k) s += vectors[i][k] * values[k] * vectors[j][k];
            out[i][j] = out[j][i] = s;
        }
    std::vector<double> scale(n);
    for (std::size_t i = 0; i < n; ++i) scale[i] = 1.0 / std::sqrt(out[i][i]);
    for (std::size_t i = 0; i < n; ++i) {
        out[i][i] = 1.0;
        for (std::size_t j = 0; j < i; ++j) out[i][j] = out[j][i] = out[i][j] * scale[i] * scale[j];
    }
    return out;
}

matrix shrunk_cholesky(const matrix& r, double* lambda_used) {
    static constexpr std::array<double, 9> ladder = {0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 1.0};
    const std::size_t n = r.size();
    matrix l;
    for (double lambda : ladder) {
        matrix a(n, std::vector<double>(n, 0.0));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) a[i][j] = (1.0 - lambda) * r[i][j] + (i == j ? lambda : 0.0);
        if (cholesky(a, l)) {
            if (lambda_used) *lambda_used = lambda;
            return l;
        }
    }
    // Unreachable for lambda = 1 (the identity), kept so every path returns a factor.
    l.assign(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) l[i][i] = 1.0;
    if (lambda_used) *lambda_used = 1.0;
    return l;
}

}  // namespace turbotwin::simulation::detail
