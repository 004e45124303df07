/* Folders on the host file system. */
#ifndef KQ_CORE_PATH_H
#define KQ_CORE_PATH_H

/* mkdir -p DIR (mode 0755). Returns 0, or -1 with errno set (ENOTDIR when
 * DIR exists and is no folder). */
int kq_mkdir_p(const char *dir);
/* mkdir -p of the folder that will hold FILE. */
int kq_mkdir_parents(const char *file);

#endif
