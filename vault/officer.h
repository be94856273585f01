/*
 * officer.h - what officer.c (opening a mirror) and officer_walk.c
 * (reading and verifying it) share.
 */
#ifndef VV_OFFICER_H
#define VV_OFFICER_H

#include <stddef.h>
#include <stdint.h>

#include "vault/clog.h"

struct vv_map {
	uint8_t *p;
	size_t len;
};

struct vv_officer {
	char *dir;
	struct vv_mirror_header h;
	char vault_hex[2 * VV_ID_LEN + 1];
	uint8_t pk[32];
	uint8_t *keys;		/* compliance sk (32) || pseudonym key (32) ||
				 * mirror key (32) */
	struct vv_map entries;
	struct vv_map heads;
	char errmsg[320];
};

/* A signed tree head kept outside the vault, with the key that signed
 * it (checkpoint.c). */
struct vv_checkpoint {
	struct vv_tree_head head;
	uint8_t sign_pk[32];
};

int vv_checkpoint_read(const char *path, struct vv_checkpoint *cp,
    char *err, size_t errlen);
/* The line itself; VV_ERR_INPUT for anything but a checkpoint. */
int vv_checkpoint_parse(const char *text, size_t len,
    struct vv_checkpoint *cp);
/* The checkpoint is of this vault, signed by the mirror's key, and the
 * tree (all entries read) extends it: a consistency proof from its size
 * to the tree's verifies against both roots. */
int vv_checkpoint_check(const struct vv_checkpoint *cp,
    const struct vv_mirror_header *h, const struct vv_merkle *tree,
    vv_merkle_leaf_fn *leaf, void *arg, char *err, size_t errlen);

#endif /* VV_OFFICER_H */
