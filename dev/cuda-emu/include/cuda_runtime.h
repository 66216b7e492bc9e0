// cuda_runtime.h: stand-in for the CUDA toolkit header (see ../README.md).
#include "../emu.h"
