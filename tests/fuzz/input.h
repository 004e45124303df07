/* Helpers shared by the fuzz targets: inputs as a NUL-terminated string, or
 * as a file for loaders that take a path. */
#ifndef KQ_TESTS_FUZZ_INPUT_H
#define KQ_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data with a NUL added (NUL bytes inside stay). */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* Makes data the whole content of one memfd, kept for the process (a new
 * file per input costs more than the code under test), and returns its
 * /proc/self/fd path. Aborts when that fails: the harness is broken, not the
 * code under test. */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
