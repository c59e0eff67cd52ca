import streamlit as st

st.title("Caseload")
