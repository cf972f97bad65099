#pragma once

/* metrics: not written yet; see tasks/todo.md */
