// Runs models/src/ops/cuda/kernels.cu on the CPU (see emulate.h) and checks every
// kernel against the textbook definition of what it computes, written here as plain
// loops. Exit status 0 when all agree; otherwise each disagreement is printed.
#include "emulate.h"
#include "../../src/ops/cuda/kernels.cu"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

struct Case {
    int batch, channels, height, width, kernel, stride;
    int out_height() const { return (height + 2 * (kernel / 2) - kernel) / stride + 1; }
    int out_width() const { return (width + 2 * (kernel / 2) - kernel) / stride + 1; }
    size_t in_size() const { return (size_t)batch * channels * height * width; }
    size_t out_size() const { return (size_t)batch * channels * out_height() * out_width(); }
    size_t taps() const { return (size_t)kernel * kernel; }
    size_t cols_size() const { return (size_t)batch * channels * taps() * out_height() * out_width(); }
};

static int failures = 0;

template <typename T>
static std::vector<T> random_vector(size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> v(n);
    for (auto& e : v) e = (T)u(rng);
    return v;
}

template <typename T>
static void expect_close(const char* what, const Case& c, const std::vector<T>& got,
                         const std::vector<double>& want) {
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
    if (got.size() != want.size()) {
        std::printf("%s: %zu values, expected %zu\n", what, got.size(), want.size());
        ++failures;
        return;
    }
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::fabs((double)got[i] - want[i]) > tol * (1.0 + std::fabs(want[i]))) {
            std::printf("%s (b%d c%d %dx%d k%d s%d): element %zu is %.9g, expected %.9g\n", what,
                        c.batch, c.channels, c.height, c.width, c.kernel, c.stride, i,
                        (double)got[i], want[i]);
            ++failures;
            return;
        }
    }
}

// The input pixel (iy, ix) that output (oy, ox) reads through tap (ky, kx), if any.
static bool input_at(const Case& c, int oy, int ox, int ky, int kx, int& iy, int& ix) {
    iy = oy * c.stride + ky - c.kernel / 2;
    ix = ox * c.stride + kx - c.kernel / 2;
    return iy >= 0 && iy < c.height && ix >= 0 && ix < c.width;
}

template <typename T>
static void check(const Case& c, std::mt19937& rng, unsigned grid, unsigned block) {
    const int ho = c.out_height(), wo = c.out_width();
    const size_t K = c.kernel, taps = c.taps();
    auto x = random_vector<T>(c.in_size(), rng);
    auto w = random_vector<T>(c.channels * taps, rng);
    auto gy = random_vector<T>(c.out_size(), rng);
    auto gcols = random_vector<T>(c.cols_size(), rng);
    auto X = [&](int b, int ch, int iy, int ix) {
        return (double)x[(((size_t)b * c.channels + ch) * c.height + iy) * c.width + ix];
    };
    auto out_index = [&](int b, int ch, int oy, int ox) {
        return (((size_t)b * c.channels + ch) * ho + oy) * wo + ox;
    };
    auto in_index = [&](int b, int ch, int iy, int ix) {
        return (((size_t)b * c.channels + ch) * c.height + iy) * c.width + ix;
    };
    // Columns are [C·k·k, B, Ho·Wo]: rows first, then the batch.
    auto col_index = [&](int b, int ch, int ky, int kx, int oy, int ox) {
        return ((((size_t)ch * taps + ky * K + kx) * c.batch + b) * ho + oy) * wo + ox;
    };

    // The definitions, by looping over every (output, tap) pair once.
    std::vector<double> y(c.out_size()), gx(c.in_size()), gw(c.channels * taps),
        cols(c.cols_size()), folded(c.in_size());
    for (int b = 0; b < c.batch; ++b)
        for (int ch = 0; ch < c.channels; ++ch)
            for (int oy = 0; oy < ho; ++oy)
                for (int ox = 0; ox < wo; ++ox)
                    for (int ky = 0; ky < c.kernel; ++ky)
                        for (int kx = 0; kx < c.kernel; ++kx) {
                            int iy, ix;
                            if (!input_at(c, oy, ox, ky, kx, iy, ix)) continue;
                            const double wv = w[ch * taps + ky * K + kx];
                            const double g = gy[out_index(b, ch, oy, ox)];
                            y[out_index(b, ch, oy, ox)] += X(b, ch, iy, ix) * wv;
                            gx[in_index(b, ch, iy, ix)] += g * wv;
                            gw[ch * taps + ky * K + kx] += g * X(b, ch, iy, ix);
                            cols[col_index(b, ch, ky, kx, oy, ox)] = X(b, ch, iy, ix);
                            folded[in_index(b, ch, iy, ix)] += gcols[col_index(b, ch, ky, kx, oy, ox)];
                        }

    const Geometry g{c.batch, c.channels, c.height, c.width, c.kernel, c.stride, ho, wo};
    std::vector<T> got(c.out_size());
    launch(grid, block, [&] { depthwise_forward<T>(x.data(), w.data(), got.data(), g); });
    expect_close("depthwise_forward", c, got, y);

    got.assign(c.in_size(), T(0));
    launch(grid, block, [&] { depthwise_grad_input<T>(gy.data(), w.data(), got.data(), g); });
    expect_close("depthwise_grad_input", c, got, gx);

    const size_t terms = (size_t)c.batch * ho * wo;
    for (int parts : {1, 3, (int)terms + 2}) {
        std::vector<T> partial(c.channels * taps * parts);
        launch(grid, block, [&] {
            depthwise_grad_weight_partial<T>(x.data(), gy.data(), partial.data(), parts, g);
        });
        got.assign(c.channels * taps, T(0));
        launch(grid, block, [&] {
            sum_parts<T>(partial.data(), got.data(), parts, (index_t)(c.channels * taps));
        });
        expect_close("depthwise_grad_weight", c, got, gw);
    }

    got.assign(c.cols_size(), T(0));
    launch(grid, block, [&] { im2col<T>(x.data(), got.data(), g); });
    expect_close("im2col", c, got, cols);

    got.assign(c.in_size(), T(0));
    launch(grid, block, [&] { col2im<T>(gcols.data(), got.data(), g); });
    expect_close("col2im", c, got, folded);
}

int main() {
    std::mt19937 rng(7);
    // Odd and even sides, stride 1 and 2, kernels 1, 3 and 5, a 1×1 map, more channels
    // than a tap row: the shapes where an index slips.
    const Case cases[] = {
        {2, 3, 7, 7, 3, 1}, {2, 3, 7, 8, 3, 2}, {1, 4, 9, 6, 5, 2}, {3, 2, 5, 5, 5, 1},
        {2, 5, 4, 4, 1, 1}, {1, 2, 6, 5, 1, 2}, {2, 3, 1, 1, 3, 1}, {1, 3, 2, 3, 5, 2},
        {2, 11, 8, 8, 3, 2},
    };
    int checked = 0;
    for (const Case& c : cases) {
        // A grid smaller than the work (threads loop) and one larger (threads idle).
        check<float>(c, rng, 3, 7);
        check<float>(c, rng, 64, 128);
        check<double>(c, rng, 2, 5);
        checked += 3;
    }
    std::printf("%d kernel configurations checked, %d failures\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
