#pragma once
#include <gtest/gtest.h>

// EXPECT_MATRIX_NEAR(a, b, tol): element-wise comparison of two Eigen matrices.
#define EXPECT_MATRIX_NEAR(a, b, tol)                                                   \
    do {                                                                                \
        ASSERT_EQ((a).rows(), (b).rows());                                              \
        ASSERT_EQ((a).cols(), (b).cols());                                              \
        for (Eigen::Index r_ = 0; r_ < (a).rows(); ++r_)                                \
            for (Eigen::Index c_ = 0; c_ < (a).cols(); ++c_)                            \
                EXPECT_NEAR((a)(r_, c_), (b)(r_, c_), tol) << "at (" << r_ << "," << c_ << ")"; \
    } while (0)
