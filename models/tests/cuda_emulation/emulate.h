// Just enough of CUDA for kernels.cu to compile as plain C++: qualifiers vanish and a
// launch runs every (block, thread) of the grid one after another. Valid for kernels
// whose threads do not talk to each other, which is all of ours.
#pragma once

#define __global__
#define __device__
#define __restrict__

struct Dim3 {
    unsigned x = 0, y = 0, z = 0;
};
static Dim3 blockIdx, threadIdx, blockDim, gridDim;

template <class Kernel>
void launch(unsigned grid, unsigned block, Kernel kernel) {
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned b = 0; b < grid; ++b) {
        for (unsigned t = 0; t < block; ++t) {
            blockIdx.x = b;
            threadIdx.x = t;
            kernel();
        }
    }
}
