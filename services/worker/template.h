#pragma once

/*
 * The mail templates (services/worker/templates/), embedded at build time by
 * embed-templates.py, and their rendering.
 *
 * For each job type NAME there is NAME.txt, whose first line is
 * "Subject: ..." followed by an empty line and the plain-text body, and
 * NAME.html, the HTML body. Placeholders: {{link}} and {{email}}; values are
 * HTML-escaped in HTML templates and in nothing else.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct template_file {
	const char *name; /* "verify.txt" */
	const char *text;
};

/* The embedded templates (generated). */
extern const struct template_file template_files[];
extern const size_t template_files_n;

/* The embedded template @name ("verify.html"), or NULL. Borrowed, static. */
const char *template_get(const char *name);

struct template_vars {
	const char *link;  /* borrowed; NULL when the job has none */
	const char *email; /* borrowed */
};

/*
 * Replaces each placeholder of @tpl by its value, HTML-escaped when @html.
 * Returns 0 and a new string in *ret_out (free() it); -EINVAL for an unknown
 * placeholder or one whose value is NULL; -ENOMEM.
 */
int template_render(const char *tpl, const struct template_vars *vars, bool html, char **ret_out);

/* Writes @s HTML-escaped (& < > " ') to @f. */
void template_html_escape(const char *s, FILE *f);
