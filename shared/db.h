#pragma once

/* db: not written yet; see tasks/todo.md */
