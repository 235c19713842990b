/*
 * views: the table from view id to view operations.
 */
#include "views.h"

const struct view_ops *views_get(enum view_id id)
{
    static const struct view_ops *const table[VIEW_COUNT] = {
        [VIEW_PROCESSES] = &view_processes_ops, [VIEW_DETAILS] = &view_details_ops,
        [VIEW_HELP] = &view_help_ops,           [VIEW_STACKS] = &view_stacks_ops,
        [VIEW_FLAME] = &view_flame_ops,
    };
    return table[id];
}
