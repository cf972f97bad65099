#pragma once

/* redis: not written yet; see tasks/todo.md */
