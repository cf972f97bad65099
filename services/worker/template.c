/* The embedded mail templates and their placeholders. */

#include "services/worker/template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *template_get(const char *name)
{
	for (size_t i = 0; i < template_files_n; i++)
		if (strcmp(template_files[i].name, name) == 0)
			return template_files[i].text;
	return NULL;
}

void template_html_escape(const char *s, FILE *f)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

int template_render(const char *tpl, const struct template_vars *vars, bool html, char **ret_out)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	const char *p = tpl;
	int r = 0;

	if (!f)
		return -ENOMEM;
	while (*p) {
		const char *open = strstr(p, "{{"), *close, *value;
		size_t len;

		if (!open) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(open - p), f);
		close = strstr(open + 2, "}}");
		if (!close) {
			r = -EINVAL;
			break;
		}
		len = (size_t)(close - open - 2);
		if (len == 4 && memcmp(open + 2, "link", 4) == 0)
			value = vars->link;
		else if (len == 5 && memcmp(open + 2, "email", 5) == 0)
			value = vars->email;
		else
			value = NULL;
		if (!value) {
			r = -EINVAL;
			break;
		}
		if (html)
			template_html_escape(value, f);
		else
			fputs(value, f);
		p = close + 2;
	}
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_out = buf;
	return 0;
}
