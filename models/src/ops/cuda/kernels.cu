// CUDA kernels for the ops in models/src/ops: depthwise convolution with both
// gradients, and the unfold (im2col) / fold (col2im) pair that turns a dense
// convolution into one cuBLAS matrix product per batch.
//
// Every kernel is a grid-stride loop in which each thread owns its outputs: no
// atomics, no shared memory, no synchronisation inside a kernel. Results are
// deterministic (each sum is taken in a fixed order), and the same source runs on
// the CPU under tests/cuda_emulation, which launches a kernel's threads one by one,
// so the index arithmetic is tested on machines without a GPU.
//
// Layouts are candle's contiguous NCHW. Padding is k/2 ("same"), stride 1 or 2,
// odd kernels. Sizes are int; flat indices are 64-bit.

typedef long long index_t;

// The geometry of one convolution, in the order every kernel takes it.
struct Geometry {
    int batch, channels, height, width, kernel, stride, out_height, out_width;

    __device__ int pad() const { return kernel / 2; }
    __device__ index_t in_plane() const { return (index_t)height * width; }
    __device__ index_t out_plane() const { return (index_t)out_height * out_width; }
};

#define GEOMETRY_PARAMS int batch, int channels, int height, int width, int kernel, \
    int stride, int out_height, int out_width
#define GEOMETRY Geometry{batch, channels, height, width, kernel, stride, out_height, out_width}

#define GRID_STRIDE(i, n) \
    for (index_t i = (index_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (index_t)blockDim.x * gridDim.x)

// The output index `o` that reads input index `i` through kernel offset `k`, or -1:
// o·stride + k − pad = i.
__device__ inline int output_for(int i, int k, const Geometry& g, int out_len) {
    int t = i + g.pad() - k;
    if (t < 0 || t % g.stride != 0) return -1;
    int o = t / g.stride;
    return o < out_len ? o : -1;
}

// y[b, c, oy, ox] = Σ_{ky, kx} x[b, c, oy·s + ky − p, ox·s + kx − p] · w[c, ky, kx]
template <typename T>
__device__ void depthwise_forward(const T* __restrict__ x, const T* __restrict__ w,
                                  T* __restrict__ y, Geometry g) {
    const index_t n = (index_t)g.batch * g.channels * g.out_plane();
    GRID_STRIDE(i, n) {
        const int ox = (int)(i % g.out_width);
        const int oy = (int)((i / g.out_width) % g.out_height);
        const index_t plane = i / g.out_plane();
        const int c = (int)(plane % g.channels);
        const T* xp = x + plane * g.in_plane();
        const T* wc = w + (index_t)c * g.kernel * g.kernel;
        T acc = 0;
        for (int ky = 0; ky < g.kernel; ++ky) {
            const int iy = oy * g.stride + ky - g.pad();
            if (iy < 0 || iy >= g.height) continue;
            for (int kx = 0; kx < g.kernel; ++kx) {
                const int ix = ox * g.stride + kx - g.pad();
                if (ix < 0 || ix >= g.width) continue;
                acc += xp[(index_t)iy * g.width + ix] * wc[ky * g.kernel + kx];
            }
        }
        y[i] = acc;
    }
}

// gx[b, c, iy, ix] = Σ over the outputs that read (iy, ix): gy · w. A gather, so
// each input pixel is written once.
template <typename T>
__device__ void depthwise_grad_input(const T* __restrict__ gy, const T* __restrict__ w,
                                     T* __restrict__ gx, Geometry g) {
    const index_t n = (index_t)g.batch * g.channels * g.in_plane();
    GRID_STRIDE(i, n) {
        const int ix = (int)(i % g.width);
        const int iy = (int)((i / g.width) % g.height);
        const index_t plane = i / g.in_plane();
        const int c = (int)(plane % g.channels);
        const T* gp = gy + plane * g.out_plane();
        const T* wc = w + (index_t)c * g.kernel * g.kernel;
        T acc = 0;
        for (int ky = 0; ky < g.kernel; ++ky) {
            const int oy = output_for(iy, ky, g, g.out_height);
            if (oy < 0) continue;
            for (int kx = 0; kx < g.kernel; ++kx) {
                const int ox = output_for(ix, kx, g, g.out_width);
                if (ox < 0) continue;
                acc += gp[(index_t)oy * g.out_width + ox] * wc[ky * g.kernel + kx];
            }
        }
        gx[i] = acc;
    }
}

// The weight gradient's first pass. gw[c, tap] sums gy · x over every (b, oy, ox):
// `parts` threads per (c, tap) each add every parts-th term, so neighbouring
// threads read neighbouring pixels. partial[(c·k² + tap)·parts + j].
template <typename T>
__device__ void depthwise_grad_weight_partial(const T* __restrict__ x, const T* __restrict__ gy,
                                              T* __restrict__ partial, int parts, Geometry g) {
    const int taps = g.kernel * g.kernel;
    const index_t n = (index_t)g.channels * taps * parts;
    const index_t terms = (index_t)g.batch * g.out_plane();
    GRID_STRIDE(i, n) {
        const int j = (int)(i % parts);
        const int tap = (int)((i / parts) % taps);
        const int c = (int)(i / ((index_t)parts * taps));
        const int ky = tap / g.kernel, kx = tap % g.kernel;
        T acc = 0;
        for (index_t t = j; t < terms; t += parts) {
            const index_t b = t / g.out_plane();
            const index_t o = t % g.out_plane();
            const int oy = (int)(o / g.out_width), ox = (int)(o % g.out_width);
            const int iy = oy * g.stride + ky - g.pad();
            const int ix = ox * g.stride + kx - g.pad();
            if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) continue;
            const index_t plane = b * g.channels + c;
            acc += gy[plane * g.out_plane() + o] * x[plane * g.in_plane() + (index_t)iy * g.width + ix];
        }
        partial[i] = acc;
    }
}

// The second pass: gw[c·k² + tap] = Σ_j partial[(c·k² + tap)·parts + j], in double.
template <typename T>
__device__ void sum_parts(const T* __restrict__ partial, T* __restrict__ out, int parts, index_t n) {
    GRID_STRIDE(i, n) {
        double acc = 0;
        for (int j = 0; j < parts; ++j) acc += (double)partial[i * parts + j];
        out[i] = (T)acc;
    }
}

// cols[(c·k + ky)·k + kx, b, oy·Wo + ox] = x[b, c, oy·s + ky − p, ox·s + kx − p], 0 outside.
// Rows first, then the batch: the whole batch is one matrix [C·k·k, B·Ho·Wo], so a
// convolution is one product with the weights [Co, C·k·k], not one per image.
template <typename T>
__device__ void im2col(const T* __restrict__ x, T* __restrict__ cols, Geometry g) {
    const index_t rows = (index_t)g.channels * g.kernel * g.kernel;
    const index_t n = (index_t)g.batch * rows * g.out_plane();
    GRID_STRIDE(i, n) {
        const index_t col = i % g.out_plane();
        const index_t b = (i / g.out_plane()) % g.batch;
        const index_t r = i / (g.out_plane() * g.batch);
        const int kx = (int)(r % g.kernel);
        const int ky = (int)((r / g.kernel) % g.kernel);
        const index_t c = r / ((index_t)g.kernel * g.kernel);
        const int oy = (int)(col / g.out_width), ox = (int)(col % g.out_width);
        const int iy = oy * g.stride + ky - g.pad();
        const int ix = ox * g.stride + kx - g.pad();
        const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
        cols[i] = inside ? x[(b * g.channels + c) * g.in_plane() + (index_t)iy * g.width + ix] : (T)0;
    }
}

// The adjoint of im2col: gx[b, c, iy, ix] = Σ over the column entries that copied it.
template <typename T>
__device__ void col2im(const T* __restrict__ cols, T* __restrict__ gx, Geometry g) {
    const index_t n = (index_t)g.batch * g.channels * g.in_plane();
    GRID_STRIDE(i, n) {
        const int ix = (int)(i % g.width);
        const int iy = (int)((i / g.width) % g.height);
        const index_t plane = i / g.in_plane();
        const index_t c = plane % g.channels;
        const index_t b = plane / g.channels;
        T acc = 0;
        for (int ky = 0; ky < g.kernel; ++ky) {
            const int oy = output_for(iy, ky, g, g.out_height);
            if (oy < 0) continue;
            for (int kx = 0; kx < g.kernel; ++kx) {
                const int ox = output_for(ix, kx, g, g.out_width);
                if (ox < 0) continue;
                const index_t r = (c * g.kernel + ky) * g.kernel + kx;
                acc += cols[(r * g.batch + b) * g.out_plane() + (index_t)oy * g.out_width + ox];
            }
        }
        gx[i] = acc;
    }
}

// Entry points, one per kernel and float type: `<kernel>_f32`, `<kernel>_f64`.
#define ENTRY_POINTS(T, suffix)                                                              \
    extern "C" __global__ void depthwise_forward_##suffix(                                  \
        const T* x, const T* w, T* y, GEOMETRY_PARAMS) {                                    \
        depthwise_forward<T>(x, w, y, GEOMETRY);                                            \
    }                                                                                       \
    extern "C" __global__ void depthwise_grad_input_##suffix(                               \
        const T* gy, const T* w, T* gx, GEOMETRY_PARAMS) {                                  \
        depthwise_grad_input<T>(gy, w, gx, GEOMETRY);                                       \
    }                                                                                       \
    extern "C" __global__ void depthwise_grad_weight_partial_##suffix(                      \
        const T* x, const T* gy, T* partial, int parts, GEOMETRY_PARAMS) {                  \
        depthwise_grad_weight_partial<T>(x, gy, partial, parts, GEOMETRY);                  \
    }                                                                                       \
    extern "C" __global__ void sum_parts_##suffix(                                          \
        const T* partial, T* out, int parts, index_t n) {                                   \
        sum_parts<T>(partial, out, parts, n);                                               \
    }                                                                                       \
    extern "C" __global__ void im2col_##suffix(const T* x, T* cols, GEOMETRY_PARAMS) {      \
        im2col<T>(x, cols, GEOMETRY);                                                       \
    }                                                                                       \
    extern "C" __global__ void col2im_##suffix(const T* cols, T* gx, GEOMETRY_PARAMS) {     \
        col2im<T>(cols, gx, GEOMETRY);                                                      \
    }

ENTRY_POINTS(float, f32)
ENTRY_POINTS(double, f64)
