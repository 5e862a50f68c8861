/*
 * volume/nbd_proto.h: the NBD wire format (magics, flags, option, reply
 * and command numbers, header layouts) as the protocol document defines
 * it. Every integer is big-endian on the wire; nbd.c packs and unpacks
 * the headers byte by byte (common/buf.h be*_read), so nothing here
 * depends on struct layout. No behaviour lives here.
 */
#ifndef KUMO_VOLUME_NBD_PROTO_H
#define KUMO_VOLUME_NBD_PROTO_H

#include <stdint.h>

/* Magics */
#define NBD_MAGIC		   0x4e42444d41474943ull /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC		   0x49484156454f5054ull /* "IHAVEOPT" */
#define NBD_REP_MAGIC		   0x0003e889045565a9ull /* option replies */
#define NBD_REQUEST_MAGIC	   0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC	   0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu

/* Handshake flags (server, 16 bits) and client flags (32 bits) */
#define NBD_FLAG_FIXED_NEWSTYLE	  (1u << 0)
#define NBD_FLAG_NO_ZEROES	  (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES	  (1u << 1)

/* Transmission flags (16 bits) */
#define NBD_FLAG_HAS_FLAGS	   (1u << 0)
#define NBD_FLAG_READ_ONLY	   (1u << 1)
#define NBD_FLAG_SEND_FLUSH	   (1u << 2)
#define NBD_FLAG_SEND_FUA	   (1u << 3)
#define NBD_FLAG_ROTATIONAL	   (1u << 4)
#define NBD_FLAG_SEND_TRIM	   (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF	   (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN	   (1u << 8)
#define NBD_FLAG_SEND_RESIZE	   (1u << 9)
#define NBD_FLAG_SEND_CACHE	   (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO	   (1u << 11)

/* Options */
#define NBD_OPT_EXPORT_NAME	  1
#define NBD_OPT_ABORT		  2
#define NBD_OPT_LIST		  3
#define NBD_OPT_STARTTLS	  5
#define NBD_OPT_INFO		  6
#define NBD_OPT_GO		  7
#define NBD_OPT_STRUCTURED_REPLY  8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT  10

/* Option reply types; errors have bit 31 set */
#define NBD_REP_ACK		    1u
#define NBD_REP_SERVER		    2u
#define NBD_REP_INFO		    3u
#define NBD_REP_META_CONTEXT	    4u
#define NBD_REP_FLAG_ERROR	    (1u << 31)
#define NBD_REP_ERR_UNSUP	    (NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY	    (NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID	    (NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM	    (NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD	    (NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN	    (NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN	    (NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG	    (NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO types (NBD_OPT_INFO and NBD_OPT_GO) */
#define NBD_INFO_EXPORT	     0
#define NBD_INFO_NAME	     1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE  3

/* Commands and their flags */
#define NBD_CMD_READ	     0
#define NBD_CMD_WRITE	     1
#define NBD_CMD_DISC	     2
#define NBD_CMD_FLUSH	     3
#define NBD_CMD_TRIM	     4
#define NBD_CMD_CACHE	     5
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_BLOCK_STATUS 7

#define NBD_CMD_FLAG_FUA       (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE   (1u << 1)
#define NBD_CMD_FLAG_DF	       (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE   (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO (1u << 4)

/* Structured reply chunk flags and types */
#define NBD_REPLY_FLAG_DONE	    (1u << 0)
#define NBD_REPLY_TYPE_NONE	    0
#define NBD_REPLY_TYPE_OFFSET_DATA  1
#define NBD_REPLY_TYPE_OFFSET_HOLE  2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR	    ((1u << 15) | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET ((1u << 15) | 2)

/* base:allocation extent flags (the same bits as VOL_EXTENT_*) */
#define NBD_STATE_HOLE (1u << 0)
#define NBD_STATE_ZERO (1u << 1)

/* Error values carried in replies (not the host's errno numbers) */
#define NBD_EPERM     1
#define NBD_EIO	      5
#define NBD_ENOMEM    12
#define NBD_EINVAL    22
#define NBD_ENOSPC    28
#define NBD_EOVERFLOW 75
#define NBD_ENOTSUP   95
#define NBD_ESHUTDOWN 108

/* Header sizes on the wire */
#define NBD_HELLO_LEN	     18 /* NBDMAGIC, IHAVEOPT, handshake flags */
#define NBD_OPT_HDR_LEN	     16 /* IHAVEOPT, option, length */
#define NBD_OPT_REPLY_LEN    20 /* magic, option, type, length */
#define NBD_REQUEST_LEN	     28 /* magic, flags, type, handle, off, len */
#define NBD_SIMPLE_REPLY_LEN 16 /* magic, error, handle */
#define NBD_CHUNK_HDR_LEN    20 /* magic, flags, type, handle, length */

/* The only metadata context: its id in NBD_REP_META_CONTEXT and chunks */
#define NBD_META_BASE_ALLOCATION    "base:allocation"
#define NBD_META_BASE_ALLOCATION_ID 1

/* Sizes we enforce */
#define NBD_MAX_PAYLOAD (32u << 20) /* largest READ/WRITE */
#define NBD_PREF_BLOCK	4096u
#define NBD_MAX_STRING	4096u  /* names, queries (protocol limit) */
#define NBD_MAX_OPT_LEN 65536u /* longer option data: hang up */

#endif
