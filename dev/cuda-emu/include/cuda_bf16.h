// cuda_bf16.h: stand-in for the CUDA toolkit header (see ../README.md).
#include "../emu.h"
