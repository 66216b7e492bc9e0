// cublas_v2.h: stand-in for the CUDA toolkit header (see ../README.md).
#include "../emu.h"
