/*
 * Reads an xl domain config with Xen's own parser (libxlutil) and prints what
 * xl would see as JSON: scalar settings and the disk and vif lists (an item
 * that is itself a list as null).
 * Exit status 1 and a message on stderr when the parser rejects the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxlutil.h>

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static void print_list(XLU_Config *cfg, const char *key) {
    XLU_ConfigList *list;
    int count = 0;
    printf("\"%s\":[", key);
    if (!xlu_cfg_get_list(cfg, key, &list, &count, 0)) {
        for (int i = 0; i < count; i++) {
            if (i) putchar(',');
            /* An item that is itself a list has no string: null. */
            const char *item = xlu_cfg_get_listitem(list, i);
            if (item) json_string(item);
            else printf("null");
        }
    }
    printf("]");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CFG\n", argv[0]);
        return 2;
    }
    XLU_Config *cfg = xlu_cfg_init(stderr, argv[1]);
    if (!cfg) return 2;
    if (xlu_cfg_readfile(cfg, argv[1])) {
        fprintf(stderr, "%s: rejected by libxlutil\n", argv[1]);
        return 1;
    }
    static const char *strings[] = {"name", "type", "bootloader", "kernel", "ramdisk", "root", "extra",
                                    "on_poweroff", "on_reboot", "on_crash"};
    static const char *longs[] = {"memory", "vcpus"};
    printf("{");
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        const char *v;
        if (!xlu_cfg_get_string(cfg, strings[i], &v, 0)) {
            printf("\"%s\":", strings[i]);
            json_string(v);
            putchar(',');
        }
    }
    for (size_t i = 0; i < sizeof longs / sizeof *longs; i++) {
        long v;
        if (!xlu_cfg_get_long(cfg, longs[i], &v, 0)) printf("\"%s\":%ld,", longs[i], v);
    }
    print_list(cfg, "disk");
    putchar(',');
    print_list(cfg, "vif");
    printf("}\n");
    xlu_cfg_destroy(cfg);
    return 0;
}
