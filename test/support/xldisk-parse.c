/*
 * Xen's own disk-spec parser (libxlutil's xlu_disk_parse, as xl uses it):
 * each argument is one spec; prints one JSON object per line with what xl
 * would hand the toolstack, or exits 1 naming the spec it rejects.
 */
#include <stdio.h>
#include <libxl.h>
#include <libxlutil.h>

static void json_string(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    XLU_Config *cfg = xlu_cfg_init(stderr, "disk specs");
    for (int i = 1; i < argc; i++) {
        libxl_device_disk disk;
        libxl_device_disk_init(&disk);
        const char *spec = argv[i];
        if (xlu_disk_parse(cfg, 1, &spec, &disk)) {
            fprintf(stderr, "%s: rejected by libxlutil\n", spec);
            return 1;
        }
        printf("{\"target\":");
        json_string(disk.pdev_path);
        printf(",\"vdev\":");
        json_string(disk.vdev);
        printf(",\"format\":");
        json_string(libxl_disk_format_to_string(disk.format));
        printf(",\"readwrite\":%d,\"script\":", disk.readwrite);
        json_string(disk.script);
        printf(",\"backend\":");
        json_string(disk.backend_domname);
        printf("}\n");
        libxl_device_disk_dispose(&disk);
    }
    xlu_cfg_destroy(cfg);
    return 0;
}
