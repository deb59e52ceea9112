# Turns src/lib/actions.tbl into the typed action wrappers.
#   awk -v out=header -f scripts/gen-actions.awk actions.tbl > cqhttp_actions.h
#   awk -v out=source -f scripts/gen-actions.awk actions.tbl > actions.c
# A line is an action name and its parameters (name:type, "?" = optional).

function ctype(t) {
    if (t == "i64") return "int64_t "
    if (t == "bool") return "int "
    if (t == "msg") return "const cq_msg *"
    return "const char *"
}

function cname(a) {
    sub(/^\./, "", a)
    return "cq_" a
}

function kind(t) {
    return "CQ__P_" toupper(t)
}

BEGIN {
    n = 0
    print "/* Generated from src/lib/actions.tbl by scripts/gen-actions.awk; " \
          "do not edit. */"
    if (out == "header") {
        print "#ifndef CQHTTP_ACTIONS_H"
        print "#define CQHTTP_ACTIONS_H"
        print ""
        print "/*"
        print " * Typed wrappers, one per OneBot action: each builds the params"
        print " * object and calls cq_call(), returning as it does (and CQ_EINVAL"
        print " * for a required string or message given as NULL). Optional"
        print " * parameters are left out with CQ_OMIT (integers), CQ_OMIT_BOOL"
        print " * (booleans) or NULL (strings, JSON)."
        print " *"
        print " * Each has an _r variant, as cq_call_r() is to cq_call(): the result"
        print " * is owned by the handler's context and freed when the handlers of"
        print " * the event are done, so no path frees it (never NULL; check ->err):"
        print " *"
        print " *   const cq_result *r = cq_get_login_info_r(c);"
        print " *"
        print " *   if (r->err == CQ_OK)"
        print " *       cq_log(CQ_LOG_INFO, \"I am %s\", cq_result_string(r, \"nickname\"));"
        print " */"
    } else {
        print "#include \"config.h\""
        print ""
        print "#include <stddef.h>"
        print "#include <stdint.h>"
        print ""
        print "#include \"cqhttp.h\""
        print "#include \"lib/actions.h\""
        print "#include \"lib/ctx.h\""
    }
}

/^[ \t]*(#|$)/ { next }

{
    action = $1
    fn = cname(action)
    np = NF - 1
    args = ""
    names_list = ""
    for (i = 2; i <= NF; i++) {
        split($i, part, ":")
        pname[i] = part[1]
        ptype[i] = part[2]
        popt[i] = sub(/\?$/, "", ptype[i])
        args = args ", " ctype(ptype[i]) pname[i]
        names_list = names_list ", " pname[i]
    }
    if (out == "header") {
        printf "CQ_EXTERN int %s(cq_ctx *c%s,\n        cq_result *out);\n", fn, args
        printf "CQ_EXTERN const cq_result *%s_r(cq_ctx *c%s);\n", fn, args
        next
    }
    names[n] = action
    counts[n] = np
    n++
    printf "\n\n"
    if (np > 0) {
        printf "static const cq__action_param p_%d[] = {\n", n
        for (i = 2; i <= NF; i++)
            printf "    {\"%s\", %s, %d},\n", pname[i], kind(ptype[i]), popt[i]
        printf "};\n\n"
    }
    printf "int %s(cq_ctx *c%s,\n        cq_result *out)\n{\n", fn, args
    printf "    cq_params *p = cq_params_new();\n\n"
    for (i = 2; i <= NF; i++) {
        t = ptype[i]
        ind = "    "
        if (popt[i]) {
            if (t == "i64") printf "    if (%s != CQ_OMIT)\n", pname[i]
            else if (t == "bool") printf "    if (%s >= 0)\n", pname[i]
            else printf "    if (%s != NULL)\n", pname[i]
            ind = "        "
        }
        if (t == "i64") f = "cq_params_int"
        else if (t == "bool") f = "cq_params_bool"
        else if (t == "msg") f = "cq_params_msg"
        else if (t == "json") f = "cq_params_json"
        else f = "cq_params_string"
        printf "%s%s(p, \"%s\", %s);\n", ind, f, pname[i], pname[i]
    }
    printf "    return cq__call_params_free(c, \"%s\", p, out);\n}\n", action
    printf "\n\nconst cq_result *%s_r(cq_ctx *c%s)\n{\n", fn, args
    printf "    int owned;\n    cq_result *r = cq__ctx_result(c, &owned);\n\n"
    printf "    if (owned)\n        %s(c%s, r);\n    return r;\n}\n", fn, names_list
}

END {
    if (out == "header") {
        print ""
        print "#endif"
        exit
    }
    printf "\n\nconst cq__action cq__actions[] = {\n"
    for (i = 0; i < n; i++) {
        table = "NULL"
        if (counts[i] > 0)
            table = "p_" (i + 1)
        printf "    {\"%s\", %s, %d},\n", names[i], table, counts[i]
    }
    printf "};\n\nconst size_t cq__nactions = %d;\n", n
}
