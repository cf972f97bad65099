#pragma once

/* dnsname: not written yet; see tasks/todo.md */
