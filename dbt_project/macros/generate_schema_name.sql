{#- Schemas are used verbatim (raw, staging, marts), without dbt's `<target>_` prefix:
    BI, the app and the loader rely on these names (domain.md section 6). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
