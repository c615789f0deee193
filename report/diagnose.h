/*
 * diagnose.h: why a handshake failed (internal to report/).
 */
#ifndef KW_DIAGNOSE_H
#define KW_DIAGNOSE_H

#include <jansson.h>

#include "record.h"

/*
 * diagnose_flow appends to list every diagnosis the facts of f support
 * (DESIGN.md section 4), most severe first: each an object with code,
 * severity, summary, evidence, hint and, where it applies, client_symptom.
 */
void diagnose_flow(const struct flow *f, const struct record_judgment *j, json_t *list);

/* diagnose_disconnect_reason names an SSH_MSG_DISCONNECT reason code (RFC 4253 11.1). */
const char *diagnose_disconnect_reason(uint32_t code);

#endif
