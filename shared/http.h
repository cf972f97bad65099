#pragma once

/* http: not written yet; see tasks/todo.md */
