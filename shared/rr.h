#pragma once

/* rr: not written yet; see tasks/todo.md */
