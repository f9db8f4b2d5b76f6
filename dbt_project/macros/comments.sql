{#- persist_comments: a mart's description (and, where the warehouse allows, its column
    descriptions) stored in the warehouse as comments, so BI tools and `SHOW CREATE TABLE` show
    them. A post-hook on the marts (dbt_project.yml); it runs its statements itself and leaves
    nothing for the hook to execute.

    dbt's own `persist_docs` cannot be used: dbt-starrocks has no `alter_relation_comment`, and
    enabling it fails every StarRocks build (dbt-starrocks PR #111 is not released).

    StarRocks: `ALTER TABLE ... COMMENT = '...'` (3.1+). Column comments need
    `ALTER TABLE ... MODIFY COLUMN c COMMENT '...'`, which StarRocks accepts only from the releases
    carrying its PR #58440 (2025; 3.1-3.3 documentation says column comments cannot be modified),
    so they are opt-in: `--vars '{starrocks_column_comments: true}'` on a server that has it.
    DuckDB: `COMMENT ON TABLE / COLUMN`, where a comment differs from the one held. -#}
{% macro persist_comments() -%}
    {%- if execute and model.resource_type == 'model'
        and config.get('materialized') in ['table', 'incremental'] -%}
        {%- do adapter.dispatch('persist_comments', 'datawiz')(this, model) -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}


{#- One line, at most 1,000 characters: a comment is a label, the docs site has the rest. -#}
{% macro comment_text(description) -%}
    {%- set text = description | replace('\n', ' ') | replace('\r', ' ') -%}
    {%- set text = modules.re.sub('\\s+', ' ', text) | trim -%}
    {{- return(text[:1000]) -}}
{%- endmacro %}


{#- DuckDB: one catalog query reads the comments the relation has; only a comment that differs
    is written. An incremental run leaves a fact's comments as they are instead of rewriting
    some twenty of them (about half a second per fact on every morning run); a table rebuilt
    from scratch has none and gets all. -#}
{% macro duckdb__persist_comments(relation, model) -%}
    {%- set catalog = run_query(
        "select '#table' as column_name, coalesce(comment, '') as comment_text from duckdb_tables()"
        ~ " where database_name = '" ~ relation.database ~ "' and schema_name = '"
        ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
        ~ " union all select lower(column_name), coalesce(comment, '') from duckdb_columns()"
        ~ " where database_name = '" ~ relation.database ~ "' and schema_name = '"
        ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
    ) -%}
    {%- set existing = {} -%}
    {%- for row in catalog.rows -%}
        {%- do existing.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- if model.description -%}
        {%- set text = datawiz.comment_text(model.description) -%}
        {%- if existing.get('#table') != text -%}
            {%- do run_query(
                "comment on table " ~ relation ~ " is '" ~ (text | replace("'", "''")) ~ "'"
            ) -%}
        {%- endif -%}
    {%- endif -%}
    {%- for column in model.columns.values() -%}
        {%- set name = column.name | lower -%}
        {%- if column.description and name in existing and name != '#table' -%}
            {%- set text = datawiz.comment_text(column.description) -%}
            {%- if existing[name] != text -%}
                {%- do run_query(
                    "comment on column " ~ relation ~ "." ~ adapter.quote(column.name) ~ " is '"
                    ~ (text | replace("'", "''")) ~ "'"
                ) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}


{#- The documented columns the relation has (a YAML entry for a column that is not there is
    the docs tests' business, not a reason to fail the build here). -#}
{% macro documented_columns(relation, model) -%}
    {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name')
        | map('lower') | list -%}
    {%- set documented = [] -%}
    {%- for column in model.columns.values() -%}
        {%- if column.description and column.name | lower in present -%}
            {%- do documented.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(documented) -}}
{%- endmacro %}


{#- StarRocks string literals take backslash escapes (MySQL style). -#}
{% macro starrocks_string(text) -%}
    {{- return("'" ~ (text | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'") -}}
{%- endmacro %}


{% macro starrocks__persist_comments(relation, model) -%}
    {%- if model.description -%}
        {%- do run_query(
            "alter table " ~ relation ~ " comment = "
            ~ datawiz.starrocks_string(datawiz.comment_text(model.description))
        ) -%}
    {%- endif -%}
    {%- if var('starrocks_column_comments', false) -%}
        {%- for column in datawiz.documented_columns(relation, model) -%}
            {%- do run_query(
                "alter table " ~ relation ~ " modify column " ~ adapter.quote(column.name)
                ~ " comment " ~ datawiz.starrocks_string(datawiz.comment_text(column.description))
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
