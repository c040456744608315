/* report.h — the page template of `iamp report` (coordinator/cli/report.html),
 * built into the binary as bytes (CMakeLists.txt, embed_file.cmake). It
 * holds IAMP_REPORT_MARKER once, where the run's data goes. */
#ifndef IAMP_REPORT_H
#define IAMP_REPORT_H

#include <stddef.h>

#define IAMP_REPORT_MARKER "@IAMP_REPORT_DATA@"

extern const unsigned char iamp_report_html[]; /* NUL-terminated */
extern const size_t iamp_report_html_len;

#endif
