/*
 * tests/unit/proxy/test_config.c: the proxy's config table, and the
 * CONF_PREFIX keys of common/config.c that collect tempauth's
 * user_<account>_<user> lines (unknown keys are still refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

static char path[] = "/tmp/kumo-proxy-conf.XXXXXX";

static void write_conf(const char *text)
{
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

Test(proxy_config, user_lines_collected)
{
	static struct proxy_conf c;
	char err[256] = "";

	write_conf("[proxy-server]\nbind_port = 9000\nswift_dir = /x\n"
		   "[filter:tempauth]\ntoken_life = 60\n"
		   "user_test_tester = testing .admin\n"
		   "user_admin_admin = admin .admin .reseller_admin\n"
		   "[object-server]\nbind_port = 6200\n");
	cr_assert_eq(conf_load(path, proxy_conf_table, &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(c.bind_port, 9000);
	cr_expect_eq(c.token_life, 60);
	cr_expect_str_eq(c.reseller_prefix, "AUTH");
	cr_expect_eq(c.account_autocreate, 1);
	cr_assert_eq(c.users.n, 2);
	cr_expect_str_eq(c.users.items[0].name, "user_test_tester");
	cr_expect_str_eq(c.users.items[0].value, "testing .admin");
	cr_expect_str_eq(c.users.items[1].name, "user_admin_admin");
	conf_free(proxy_conf_table, &c);
	cr_expect_eq(c.users.n, 0);
	cr_expect_null(c.users.items);
	unlink(path);
}

Test(proxy_config, unknown_keys_still_refused)
{
	static struct proxy_conf c;
	char err[256] = "";

	write_conf("[filter:tempauth]\nusr_test_tester = typo\n");
	cr_expect_eq(conf_load(path, proxy_conf_table, &c, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "usr_test_tester") != NULL, "%s", err);
	conf_free(proxy_conf_table, &c);
	unlink(path);
}

Test(proxy_config, sample_shows_the_user_line)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	conf_write_sample(proxy_conf_table, f);
	fclose(f);
	cr_expect(strstr(text, "[filter:tempauth]") != NULL);
	cr_expect(strstr(text, "# user_<account>_<user> = <key>") != NULL);
	cr_expect(strstr(text, "# swift_dir = /etc/swift") != NULL);
	free(text);
}
