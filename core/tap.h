/* TAP version 13 writer: one line per test, a YAML block of its numbers. */
#ifndef KQ_CORE_TAP_H
#define KQ_CORE_TAP_H

#include <jansson.h>
#include <stdio.h>

void kq_tap_header(FILE *f, int ntests);
/* Writes "ok N - name", "not ok N - name" or "ok N - name # SKIP reason" and
 * the YAML block (status, reason, duration, metrics, verdict, diagnostics). */
void kq_tap_result(FILE *f, int number, const json_t *test);
/* Emits a YAML-safe one-line scalar: JSON strings are valid YAML. */
void kq_yaml_scalar(FILE *f, const json_t *v);

#endif
