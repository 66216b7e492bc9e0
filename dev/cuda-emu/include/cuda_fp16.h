// cuda_fp16.h: stand-in for the CUDA toolkit header (see ../README.md).
#include "../emu.h"
