/*
 * sysident: who this machine is — host name, kernel, boot id — for labelling a session.
 */
#ifndef STACKTOP_SYSIDENT_H
#define STACKTOP_SYSIDENT_H

/* Identity of the running system. */
struct sysident {
    char host[256];   /* uname nodename */
    char kernel[512]; /* uname release, a space, and version */
    char boot_id[64]; /* /proc/sys/kernel/random/boot_id without the newline; "" if unknown */
};

/* Fills out; never fails (unknown parts are empty). proc_root is normally "/proc". */
void sysident_read(const char *proc_root, struct sysident *out);

#endif
