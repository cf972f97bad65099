#!/usr/bin/env python3
"""Turns common-passwords.txt into a C array for services/user/account.c.

Usage: gen-common-passwords.py INPUT.txt OUTPUT.c

Lines are passwords; blank lines and lines starting with '#' are skipped. Each
password must be printable ASCII without spaces, already lower case, and appear
once: the script refuses the file otherwise, so the list stays what it says.
The output is sorted in byte order (strcmp's order) for bsearch().
"""
import sys


def c_string(s):
    out = []
    for ch in s:
        if ch in '"\\?':  # '?' too: no trigraphs in strict C17
            out.append('\\' + ch)
        else:
            out.append(ch)
    return '"' + ''.join(out) + '"'


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: gen-common-passwords.py INPUT.txt OUTPUT.c')
    src, dst = sys.argv[1], sys.argv[2]
    seen = {}
    with open(src, encoding='ascii') as f:
        for n, line in enumerate(f, 1):
            word = line.rstrip('\n')
            if not word or word.startswith('#'):
                continue
            where = '%s:%d' % (src, n)
            if not all(0x21 <= ord(c) <= 0x7e for c in word):
                sys.exit('%s: not printable ASCII without spaces: %r' % (where, word))
            if word != word.lower():
                sys.exit('%s: not lower case: %r' % (where, word))
            if word in seen:
                sys.exit('%s: %r already on line %d' % (where, word, seen[word]))
            seen[word] = n
    if not seen:
        sys.exit('%s: no passwords' % src)
    words = sorted(seen, key=lambda w: w.encode('ascii'))
    with open(dst, 'w', encoding='ascii') as f:
        f.write('/* Generated from common-passwords.txt by gen-common-passwords.py: do not edit. */\n\n')
        f.write('#include "services/user/common_passwords.h"\n\n')
        f.write('const char *const common_passwords[] = {\n')
        for w in words:
            f.write('\t%s,\n' % c_string(w))
        f.write('};\n\n')
        f.write('const size_t common_passwords_count = %d;\n' % len(words))
        f.write('const size_t common_passwords_maxlen = %d;\n' % max(len(w) for w in words))


if __name__ == '__main__':
    main()
